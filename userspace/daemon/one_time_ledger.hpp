#pragma once
// Which one-time sequences (knockd's one_time_sequences) are used, kept in the state folder
// so a restart does not revive one. Per range, by name: the SHA-256 of each sequence used,
// in the order used; the range's current sequence is the first line of its file not yet
// matched by one. The file never holds a sequence itself.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gate/sequences.hpp"
#include "policy/config.hpp"

namespace xk::daemon {

class OneTimeLedger {
  public:
    // Reads path; a missing file means none used. Throws std::runtime_error naming the file
    // when it cannot be read or parsed: a lost ledger would revive used sequences.
    explicit OneTimeLedger(std::string path);

    // The sequence each sequence range of config takes now, by its seq index (the order of
    // gate::sequence_range_ids): its steps, or none once every one-time line is used, and
    // a generation that changes with them, so the gate restarts half-done attempts.
    std::vector<gate::SeqCurrent> currents(const policy::Config &config) const;
    gate::SeqCurrent current(const policy::Range &range) const;

    // Marks the range's current one-time sequence used, if `generation` is still current,
    // and writes the ledger before it returns true. False: another completion consumed it
    // first (stale), or the write failed (err says why): grant nothing then.
    bool consume(const policy::Range &range, uint32_t generation, std::string &err);

  private:
    size_t current_line(const policy::Range &range) const;
    std::string save() const;

    std::string path_;
    std::map<std::string, std::vector<std::string>> used_;  // range name -> SHA-256 hex
};

}  // namespace xk::daemon
