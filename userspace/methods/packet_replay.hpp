#pragma once
// One packet's replay verdict, decided once and reused for every range it is tried against
// (ARCHITECTURE.md: one decision per packet, whatever the number of ranges): a second range
// sharing the key must neither call the packet's own record a replay nor accept a packet
// the first range found replayed, full or unjournaled. Lives on the stack for one packet.

#include <cstdint>
#include <span>

#include "policy/replay_cache.hpp"
#include "spa/reject.hpp"
#include "spa/replay_digest.hpp"

namespace xk::methods {

class PacketReplay {
  public:
    // cache may be null when no range of the config keeps replays (then nothing calls us).
    PacketReplay(policy::ReplayCache *cache, spa::ReplayDigester &digester,
                 std::span<const uint8_t> wire, int64_t now)
        : cache_(cache), digester_(digester), wire_(wire), now_(now) {}

    // Before opening an authentic packet: ok, or the verdict that ends this range's try
    // (replay; a refusal an earlier range already decided; crypto_error).
    spa::Reject check();
    // Final for this packet: record() has run.
    bool decided() const { return decided_; }
    // The packet is authentic and opened: remember its wire digest, after a digest of what
    // it says when `said` is not empty. Kept until the packet's own stamp leaves the window.
    // Runs once per packet; later calls (other ranges) return the same verdict.
    spa::Reject record(std::span<const uint8_t> said, int64_t stamp);

  private:
    spa::Reject remember(const spa::ReplayDigest &d, int64_t stamp);

    policy::ReplayCache *cache_;
    spa::ReplayDigester &digester_;
    std::span<const uint8_t> wire_;
    int64_t now_;
    bool digested_ = false;  // wire digest computed
    bool decided_ = false;   // verdict is final for this packet
    spa::Reject verdict_ = spa::Reject::ok;
    spa::ReplayDigest digest_{};
};

}  // namespace xk::methods
