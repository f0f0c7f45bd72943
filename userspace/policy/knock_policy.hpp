#pragma once
// Judges one knock against the ranges listening on its port and transport, in config order; the
// first range and secret that accept it win. Each range is judged by its method
// (methods::KnockMethod); the packet's one replay verdict is shared by every range it is
// tried against. One instance per worker: it owns that worker's judges (pre-keyed crypto
// contexts, built here at config load), so a check takes no lock (but the replay cache's
// shard) and allocates nothing.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "methods/knock.hpp"
#include "methods/knock_method.hpp"
#include "policy/config.hpp"
#include "policy/replay_store.hpp"
#include "spa/replay_digest.hpp"

namespace xk::policy {

using Knock = methods::Knock;
using Decision = methods::Decision;
using methods::kMaxGrantPorts;

class KnockPolicy {
  public:
    // replay may be null only for configs whose methods keep no replays (plain only).
    KnockPolicy(const Config &config, ReplayStore *replay);
    ~KnockPolicy();

    Decision check(const Knock &knock);
    const Config &config() const { return config_; }
    // Some range takes knocks on this port by this transport (ICMP: port 0).
    bool listens(uint16_t port, Transport transport = Transport::udp) const;
    // Longest time an fko replay must be remembered: 2 × the largest proof_time.
    static int64_t replay_retention(const Config &config);

  private:
    const Config &config_;
    ReplayStore *replay_;
    // Sorted (transport << 16 | port, range index): a range once per transport it takes.
    std::vector<std::pair<uint32_t, uint32_t>> by_port_;
    std::vector<std::unique_ptr<methods::RangeJudge>> judges_;  // one per range
    spa::ReplayDigester digester_;
};

}  // namespace xk::policy
