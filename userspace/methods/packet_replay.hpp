#pragma once
// One packet's replay verdict, decided once and reused for every range it is tried against
// (ARCHITECTURE.md: one decision per packet, whatever the number of ranges): a second range
// sharing the key must neither call the packet's own record a replay nor accept a packet
// the first range found replayed, full or unjournaled. Lives on the stack for one packet.
//
// The key is the HMAC tag when the secret that verified the packet has one (no hash to
// compute: spa::tag_replay_key says why that is exactly as strong), else the SHA-256 of the
// wire. While the cache may still hold wire digests journaled before tag keys (an upgrade),
// an HMAC packet is checked under both keys, so no upgrade reopens a replay window.

#include <cstdint>
#include <span>

#include "policy/replay_store.hpp"
#include "spa/reject.hpp"
#include "spa/replay_digest.hpp"

namespace xk::methods {

class PacketReplay {
  public:
    // cache may be null when no range of the config keeps replays (then nothing calls us).
    PacketReplay(policy::ReplayStore *cache, spa::ReplayDigester &digester,
                 std::span<const uint8_t> wire, int64_t now)
        : cache_(cache), digester_(digester), wire_(wire), now_(now) {}

    // Before opening an authentic packet: ok, or the verdict that ends this range's try
    // (replay; a refusal an earlier range already decided; crypto_error). tag_key: the
    // packet's key from its verified HMAC tag, null for a secret without HMAC.
    spa::Reject check(const spa::ReplayDigest *tag_key);
    // Final for this packet: record() has run.
    bool decided() const { return decided_; }
    // The packet is authentic and opened: remember the key of the last check(), after a
    // digest of what it says when `said` is not empty. Kept until the packet's own stamp
    // leaves the window. Runs once per packet; later calls (other ranges) return the same
    // verdict.
    spa::Reject record(std::span<const uint8_t> said, int64_t stamp);

  private:
    spa::Reject check_wire();
    spa::Reject check_tag(const spa::ReplayDigest &tag);
    spa::Reject remember(const spa::ReplayDigest &d, int64_t stamp);
    spa::Reject refuse(spa::Reject r) {
        decided_ = true;
        return verdict_ = r;
    }

    policy::ReplayStore *cache_;
    spa::ReplayDigester &digester_;
    std::span<const uint8_t> wire_;
    int64_t now_;
    bool wire_checked_ = false;  // wire digest computed and looked up
    bool tag_checked_ = false;   // tag_ looked up
    bool decided_ = false;       // verdict is final for this packet
    spa::Reject verdict_ = spa::Reject::ok;
    spa::ReplayDigest wire_digest_{};
    spa::ReplayDigest tag_{};
    spa::ReplayDigest key_{};  // what record() remembers: the last check's key
};

}  // namespace xk::methods
