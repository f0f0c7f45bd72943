#include "policy/knock_policy.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "spa/fko_decode.hpp"
#include "spa/plain.hpp"

namespace xk::policy {

using spa::Reject;

KnockPolicy::KnockPolicy(const Config &config, ReplayCache *replay)
    : config_(config), replay_(replay) {
    for (uint32_t i = 0; i < config.ranges.size(); ++i)
        by_port_.emplace_back(config.ranges[i].port, i);
    std::stable_sort(by_port_.begin(), by_port_.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    contexts_.resize(config.ranges.size());
    for (size_t r = 0; r < config.ranges.size(); ++r) {
        const Range &range = config.ranges[r];
        if (range.method != Method::fko) continue;
        if (!replay_) throw std::logic_error("fko ranges need a replay cache");
        for (const auto &secret : range.secrets) {
            std::string error;
            auto ctx = spa::FkoKeyContext::create(secret.fko, error);
            if (!ctx)
                throw ConfigError("range " + range.name + ", secret " + secret.label + ": " +
                                  error);
            contexts_[r].push_back(std::move(ctx));
        }
    }
    if (!digester_.ok()) throw std::runtime_error("OpenSSL has no SHA-256");
}

KnockPolicy::~KnockPolicy() = default;

int64_t KnockPolicy::replay_retention(const Config &config) {
    int64_t longest = 120;
    for (const auto &r : config.ranges) {
        // No time window: an old knock is refused only by its digest, so keep digests until
        // the cache is full (then refuse with replay_cache_full) rather than let them age out.
        if (r.method == Method::fko && r.proof_time_s == 0) return int64_t{100} * 365 * 86400;
        longest = std::max<int64_t>(longest, r.proof_time_s);
    }
    return 2 * longest;
}

bool KnockPolicy::listens(uint16_t port) const {
    auto it = std::lower_bound(by_port_.begin(), by_port_.end(), std::make_pair(port, 0u));
    return it != by_port_.end() && it->first == port;
}

Decision KnockPolicy::check(const Knock &knock) {
    Decision d;
    auto it = std::lower_bound(by_port_.begin(), by_port_.end(), std::make_pair(knock.port, 0u));
    bool any_source = false;
    ReplayState rs;
    for (; it != by_port_.end() && it->first == knock.port; ++it) {
        const Range &range = config_.ranges[it->second];
        bool from_source = std::any_of(range.sources.begin(), range.sources.end(),
                                       [&](const Cidr &c) { return c.contains(knock.source); });
        if (!from_source) continue;
        any_source = true;
        Reject r = range.method == Method::plain ? check_plain(range, knock, d)
                                                 : check_fko(it->second, knock, d, rs);
        d.reason = r;
        if (r == Reject::ok) {
            d.range_id = it->second;
            return d;
        }
    }
    if (!any_source) d.reason = Reject::source_not_allowed;
    return d;
}

Reject KnockPolicy::check_plain(const Range &range, const Knock &knock, Decision &d) const {
    for (uint32_t i = 0; i < range.secrets.size(); ++i) {
        if (!spa::plain_matches(knock.payload, range.secrets[i].plain)) continue;
        d.secret_id = i;
        d.timeout_s = range.timeout_s;
        // A plain knock opens the range's whole list.
        d.nports = std::min(range.open.size(), kMaxGrantPorts);
        std::copy_n(range.open.begin(), d.nports, d.ports.begin());
        return Reject::ok;
    }
    return Reject::plain_mismatch;
}

// Order: structure → HMAC → replay → decrypt → fields → inner digest → time → proof_ip →
// ports. ARCHITECTURE.md puts the replay digest before the HMAC, as fwknopd does; we take it
// right after: junk under a flood then costs one HMAC instead of a SHA-256 of the payload, a
// lock and an HMAC (~40% less per junk packet), replays are refused exactly as before, and
// still nothing is decrypted before both checks pass. Secrets without HMAC check the replay
// cache first, as before.
Reject KnockPolicy::check_fko(uint32_t range_id, const Knock &knock, Decision &d, ReplayState &rs) {
    if (Reject r = spa::fko_precheck(knock.payload); r != Reject::ok) return r;

    const Range &range = config_.ranges[range_id];
    Reject last = Reject::no_secret_matched;
    for (uint32_t i = 0; i < contexts_[range_id].size(); ++i) {
        spa::FkoKeyContext &ctx = *contexts_[range_id][i];
        last = spa::fko_verify_mac(ctx, knock.payload);
        if (last != Reject::ok) continue;  // wrong key: try the next secret
        if (rs.decided && rs.verdict != Reject::ok) return rs.verdict;  // judged by a range before
        if (!rs.digested) {
            if (!digester_.digest(knock.payload, rs.wire)) return Reject::crypto_error;
            rs.digested = true;
            if (replay_->contains(rs.wire, knock.now)) {
                rs.decided = true;
                return rs.verdict = Reject::replay;
            }
        }
        last = spa::fko_open(ctx, knock.payload, message_);
        if (last != Reject::ok) continue;
        d.secret_id = i;
        d.fko = &message_;
        // Authentic: remember it before judging, so even a refused packet never counts twice.
        if (Reject r = record(rs, ctx, knock); r != Reject::ok) return r;
        return judge_fko(range, knock, d);
    }
    return last;
}

// Records the packet's digests once per packet and keeps the verdict for every other range
// it is tried against. Without an HMAC the wire is not bound to the message: fwknop's
// lenient unpadding accepts the same message with its all-padding last block cut off, a
// different wire and digest. So such packets are also recorded by a digest of what they say.
Reject KnockPolicy::record(ReplayState &rs, const spa::FkoKeyContext &ctx, const Knock &knock) {
    if (rs.decided) return rs.verdict;  // a second range trying the same packet
    rs.decided = true;
    if (ctx.hmac_type() == spa::HmacType::none) {
        const spa::FkoMessage &m = message_;
        std::array<char, 1024> text;
        int n = snprintf(
            text.data(), text.size(), "%.*s:%.*s:%lld:%d:%.*s:%.*s:%u",
            static_cast<int>(m.rand.size()), m.rand.data(), static_cast<int>(m.user.len),
            m.user.data.data(), static_cast<long long>(m.timestamp), static_cast<int>(m.type),
            static_cast<int>(m.message.len), m.message.data.data(),
            static_cast<int>(m.nat_access.len), m.nat_access.data.data(), m.client_timeout);
        spa::ReplayDigest said;
        size_t len = std::min(static_cast<size_t>(std::max(n, 0)), text.size() - 1);
        if (!digester_.digest({reinterpret_cast<const uint8_t *>(text.data()), len}, said)) {
            return rs.verdict = Reject::crypto_error;
        }
        if (Reject r = remember(said, knock); r != Reject::ok) return rs.verdict = r;
    }
    return rs.verdict = remember(rs.wire, knock);
}

// Kept until the packet's own timestamp leaves the window, not only 2 × proof_time from now:
// a packet stamped ahead (too_new today) must still be a replay once its window opens.
Reject KnockPolicy::remember(const spa::ReplayDigest &d, const Knock &knock) {
    switch (replay_->insert(d, knock.now, message_.timestamp)) {
        case ReplayCache::Insert::added:
            return Reject::ok;
        case ReplayCache::Insert::present:
            return Reject::replay;  // seen before, or another worker won
        case ReplayCache::Insert::full:
            return Reject::replay_cache_full;
        case ReplayCache::Insert::journal_error:
            return Reject::journal_error;  // fail closed: a restart would forget it
    }
    return Reject::journal_error;
}

Reject KnockPolicy::judge_fko(const Range &range, const Knock &knock, Decision &d) const {
    const spa::FkoMessage &m = message_;
    if (range.proof_time_s) {
        if (m.timestamp < knock.now - range.proof_time_s) return Reject::too_old;
        if (m.timestamp > knock.now + range.proof_time_s) return Reject::too_new;
    }
    if (m.type == spa::MsgType::command) return Reject::command_refused;
    if (spa::msg_has_nat(m.type)) return Reject::nat_refused;

    if (range.proof_ip) {
        if (m.allow_ip == 0) return Reject::allow_ip_any_refused;
        auto ip = m.allow_ip_bytes();
        if (!knock.source.is_v4() ||
            std::memcmp(knock.source.bytes.data() + 12, ip.data(), 4) != 0) {
            return Reject::source_mismatch;
        }
    }
    // Whatever the packet claims, only its source is ever authorized.

    d.nports = 0;
    for (size_t i = 0; i < m.port_count; ++i) {
        PortRef want{static_cast<uint8_t>(m.ports[i].proto), m.ports[i].port};
        bool allowed = std::any_of(range.open.begin(), range.open.end(),
                                   [&](const PortRef &o) { return o.proto == 0 || o == want; });
        if (!allowed) return Reject::port_not_allowed;  // refused whole, as fwknopd does
        d.ports[d.nports++] = want;
    }
    if (d.nports == 0) return Reject::bad_access;

    d.timeout_s = range.timeout_s;
    if (spa::msg_has_timeout(m.type) && m.client_timeout > 0) {
        d.timeout_s = std::min(m.client_timeout, range.max_client_timeout_s);
    }
    return Reject::ok;
}

}  // namespace xk::policy
