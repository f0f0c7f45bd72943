#pragma once
// Judges one knock against the ranges listening on its port, in config order; the first
// range and secret that accept it win. One instance per worker: it owns that worker's
// pre-keyed crypto contexts, so a check takes no lock (but the replay cache's shard) and
// allocates nothing.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "policy/address.hpp"
#include "policy/config.hpp"
#include "policy/replay_cache.hpp"
#include "spa/fko_key_context.hpp"
#include "spa/fko_types.hpp"
#include "spa/reject.hpp"

namespace xk::policy {

struct Knock {
    Address source;  // the packet's source: the only address a knock can authorize
    uint16_t port = 0;
    std::span<const uint8_t> payload;
    int64_t now = 0;  // Unix seconds the time window is judged against
};

constexpr size_t kMaxGrantPorts = spa::kMaxAccessPorts;

struct Decision {
    spa::Reject reason = spa::Reject::no_secret_matched;
    uint32_t range_id = 0;
    uint32_t secret_id = 0;
    uint32_t timeout_s = 0;
    std::array<PortRef, kMaxGrantPorts> ports{};
    size_t nports = 0;
    const spa::FkoMessage *fko = nullptr;  // the decoded message (fko), valid until the next check

    bool accepted() const { return reason == spa::Reject::ok; }
    std::span<const PortRef> grant() const { return {ports.data(), nports}; }
};

class KnockPolicy {
  public:
    // replay may be null only for configs without fko ranges.
    KnockPolicy(const Config &config, ReplayCache *replay);
    ~KnockPolicy();

    Decision check(const Knock &knock);
    const Config &config() const { return config_; }
    bool listens(uint16_t port) const;  // some range takes knocks on this UDP port
    // Longest time an fko replay must be remembered: 2 × the largest proof_time.
    static int64_t replay_retention(const Config &config);

  private:
    spa::Reject check_plain(const Range &range, const Knock &knock, Decision &d) const;
    // One packet's replay verdict, decided once and reused for every range it is tried
    // against: a second range sharing the key must neither call the packet's own record a
    // replay nor accept a packet the first range found replayed, full or unjournaled.
    struct ReplayState {
        bool digested = false;  // wire digest computed
        bool decided = false;   // verdict is final for this packet
        spa::Reject verdict = spa::Reject::ok;
        spa::ReplayDigest wire{};
    };
    spa::Reject check_fko(uint32_t range_id, const Knock &knock, Decision &d, ReplayState &rs);
    spa::Reject record(ReplayState &rs, const spa::FkoKeyContext &ctx, const Knock &knock);
    spa::Reject remember(const spa::ReplayDigest &d, const Knock &knock);
    spa::Reject judge_fko(const Range &range, const Knock &knock, Decision &d) const;

    const Config &config_;
    ReplayCache *replay_;
    std::vector<std::pair<uint16_t, uint32_t>> by_port_;  // sorted (port, range index)
    // contexts_[range][secret]; empty for plain ranges.
    std::vector<std::vector<std::unique_ptr<spa::FkoKeyContext>>> contexts_;
    spa::ReplayDigester digester_;
    spa::FkoMessage message_;  // scratch, reused: no allocation per knock
};

}  // namespace xk::policy
