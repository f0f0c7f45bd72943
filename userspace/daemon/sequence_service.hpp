#pragma once
// Completed port-knock sequences (method "sequence"): the gates judge every hit in XDP and
// put one seq_events record per completion; this box turns each into a grant through the
// interface's sink (log, counts, on_authorize hook), like a worker's knock, on the
// RingPoller's thread; a one-time sequence is marked used (and the gates moved to the next
// line) before its grant is written.

#include <string>
#include <vector>

#include "daemon/one_time_ledger.hpp"
#include "daemon/ring_poller.hpp"
#include "xdpknock/maps.h"

namespace xk::daemon {

class GuardedInterface;

class SequenceService {
  public:
    // The one-time ledger lives in state_dir. Throws when it cannot be read.
    explicit SequenceService(const std::string &state_dir);
    SequenceService(const SequenceService &) = delete;
    SequenceService &operator=(const SequenceService &) = delete;

    // What the gates' seq_ranges hold for config (gate::write_sequences). Before the poller
    // starts, or under its hold(): the ledger changes on the poller's thread.
    std::vector<gate::SeqCurrent> currents(const policy::Config &config) const {
        return ledger_.currents(config);
    }
    void watch(GuardedInterface &iface, RingPoller &poller);  // its seq_events ring

  private:
    void on_event(GuardedInterface &iface, const xk_seq_event &e);
    bool consume_one_time(const policy::Config &config, uint32_t range_id, uint32_t generation);

    OneTimeLedger ledger_;
    std::vector<GuardedInterface *> ifaces_;
};

}  // namespace xk::daemon
