#include "policy/knock_policy.hpp"

#include <algorithm>
#include <stdexcept>

#include "methods/packet_replay.hpp"
#include "methods/registry.hpp"

namespace xk::policy {

using spa::Reject;

namespace {
uint32_t listen_key(Transport t, uint16_t port) {
    return uint32_t{static_cast<uint8_t>(t)} << 16 | (t == Transport::icmp ? 0 : port);
}
}  // namespace

KnockPolicy::KnockPolicy(const Config &config, ReplayStore *replay)
    : config_(config), replay_(replay) {
    for (uint32_t i = 0; i < config.ranges.size(); ++i) {
        const Range &r = config.ranges[i];
        if (!methods::method_of(r).judged_by_workers()) continue;
        for (Transport t : kTransports)
            if (r.takes(t)) by_port_.emplace_back(listen_key(t, r.port), i);
    }
    std::stable_sort(by_port_.begin(), by_port_.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    for (const Range &range : config.ranges) {
        const methods::KnockMethod &method = methods::method_of(range);
        if (method.uses_replay(range) && !replay_) {
            throw std::logic_error(std::string(method.name()) + " ranges need a replay cache");
        }
        judges_.push_back(method.make_judge(range));
    }
    if (!digester_.ok()) throw std::runtime_error("OpenSSL has no SHA-256");
}

KnockPolicy::~KnockPolicy() = default;

int64_t KnockPolicy::replay_retention(const Config &config) {
    int64_t longest = 120;
    for (const auto &r : config.ranges) {
        // No time window: an old knock is refused only by its digest, so keep digests until
        // the cache is full (then refuse with replay_cache_full) rather than let them age out.
        if (methods::method_of(r).replay_only_by_digest(r)) return int64_t{100} * 365 * 86400;
        longest = std::max<int64_t>(longest, r.proof_time_s);
    }
    return 2 * longest;
}

bool KnockPolicy::listens(uint16_t port, Transport transport) const {
    const uint32_t key = listen_key(transport, port);
    auto it = std::lower_bound(by_port_.begin(), by_port_.end(), std::make_pair(key, 0u));
    return it != by_port_.end() && it->first == key;
}

Decision KnockPolicy::check(const Knock &knock) {
    Decision d;
    const uint32_t key = listen_key(knock.transport, knock.port);
    auto it = std::lower_bound(by_port_.begin(), by_port_.end(), std::make_pair(key, 0u));
    bool any_source = false;
    methods::PacketReplay replay(replay_, digester_, knock.payload, knock.now);
    for (; it != by_port_.end() && it->first == key; ++it) {
        const Range &range = config_.ranges[it->second];
        bool from_source = std::any_of(range.sources.begin(), range.sources.end(),
                                       [&](const Cidr &c) { return c.contains(knock.source); });
        if (!from_source) continue;
        any_source = true;
        if (range.expires_at && knock.now >= range.expires_at) {
            d.reason = Reject::range_expired;
            continue;
        }
        if (!range.destinations.empty() &&
            std::none_of(range.destinations.begin(), range.destinations.end(),
                         [&](const Cidr &c) { return c.contains(knock.destination); })) {
            d.reason = Reject::destination_not_allowed;
            continue;
        }
        Reject r = judges_[it->second]->judge(knock, replay, d);
        d.reason = r;
        if (r == Reject::ok) {
            d.range_id = it->second;
            if (range.nat.to) d.nat = range.nat.to;  // fwknop's FORCE_NAT: over any request
            return d;
        }
    }
    if (!any_source) d.reason = Reject::source_not_allowed;
    return d;
}

}  // namespace xk::policy
