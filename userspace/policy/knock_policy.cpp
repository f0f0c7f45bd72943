#include "policy/knock_policy.hpp"

#include <algorithm>

#include "spa/plain.hpp"

namespace xk::policy {

KnockPolicy::KnockPolicy(const Config &config) : config_(config) {
    for (uint32_t i = 0; i < config.ranges.size(); ++i) by_port_.emplace_back(config.ranges[i].port, i);
    std::stable_sort(by_port_.begin(), by_port_.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
}

bool KnockPolicy::listens(uint16_t port) const {
    auto it = std::lower_bound(by_port_.begin(), by_port_.end(), std::make_pair(port, 0u));
    return it != by_port_.end() && it->first == port;
}

Decision KnockPolicy::check(const Knock &knock) const {
    Decision d;
    auto it = std::lower_bound(by_port_.begin(), by_port_.end(), std::make_pair(knock.port, 0u));
    bool any_source = false;
    for (; it != by_port_.end() && it->first == knock.port; ++it) {
        const Range &range = config_.ranges[it->second];
        bool from_source = std::any_of(range.sources.begin(), range.sources.end(),
                                       [&](const Cidr &c) { return c.contains(knock.source); });
        if (!from_source) continue;
        any_source = true;
        spa::Reject r = range.method == Method::plain ? check_plain(range, knock, d)
                                                      : spa::Reject::no_secret_matched;
        if (r == spa::Reject::ok) {
            d.reason = r;
            d.range_id = it->second;
            d.timeout_s = range.timeout_s;
            return d;
        }
        d.reason = r;
    }
    if (!any_source) d.reason = spa::Reject::source_not_allowed;
    return d;
}

spa::Reject KnockPolicy::check_plain(const Range &range, const Knock &knock, Decision &d) const {
    for (uint32_t i = 0; i < range.secrets.size(); ++i) {
        if (!spa::plain_matches(knock.payload, range.secrets[i].plain)) continue;
        d.secret_id = i;
        // A plain knock opens the range's whole list.
        d.nports = std::min(range.open.size(), kMaxGrantPorts);
        std::copy_n(range.open.begin(), d.nports, d.ports.begin());
        return spa::Reject::ok;
    }
    return spa::Reject::plain_mismatch;
}

}  // namespace xk::policy
