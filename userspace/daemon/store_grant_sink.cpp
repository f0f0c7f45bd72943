#include "daemon/store_grant_sink.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "auth/authorized.hpp"
#include "hooks/hook_args.hpp"
#include "log/log.hpp"
#include "methods/registry.hpp"

namespace xk::daemon {
namespace {

static_assert(policy::kMaxGrantPorts <= auth::kMaxPortsPerGrant, "a decision fits one grant");
constexpr int64_t kRefusalLogInterval_s = 10;

}  // namespace

StoreGrantSink::StoreGrantSink(std::shared_ptr<const policy::Config> config,
                               auth::AuthorizationStore &store, std::string ifname,
                               const StoreGrantSink *before, hooks::HookRunner *hooks,
                               auth::NatTable *nat)
    : config_(std::move(config)),
      store_(store),
      ifname_(std::move(ifname)),
      last_refusal_log_(new std::atomic<int64_t>[config_->ranges.size()]),
      hooks_(hooks),
      nat_(nat) {
    size_t slots = 0;
    for (size_t r = 0; r < config_->ranges.size(); ++r) {
        last_refusal_log_[r].store(INT64_MIN / 2, std::memory_order_relaxed);
        first_secret_.push_back(slots);
        slots += config_->ranges[r].secrets.size();
    }
    accepted_.reset(new std::atomic<uint64_t>[slots]);
    for (size_t i = 0; i < slots; ++i) accepted_[i].store(0, std::memory_order_relaxed);
    if (before) carry_counts(*before);
}

// Counts follow names, not positions: a range or secret that moved keeps its count, a
// new one starts at 0. A grant a worker still on the old sink makes meanwhile is lost to
// the count (not to the map).
void StoreGrantSink::carry_counts(const StoreGrantSink &before) {
    const auto &old_ranges = before.config().ranges;
    for (size_t r = 0; r < config_->ranges.size(); ++r) {
        const policy::Range &range = config_->ranges[r];
        auto old = std::find_if(old_ranges.begin(), old_ranges.end(),
                                [&](const policy::Range &o) { return o.name == range.name; });
        if (old == old_ranges.end()) continue;
        for (size_t s = 0; s < range.secrets.size(); ++s) {
            for (size_t t = 0; t < old->secrets.size(); ++t) {
                if (old->secrets[t].label != range.secrets[s].label) continue;
                const auto old_r = static_cast<uint32_t>(old - old_ranges.begin());
                accepted_[first_secret_[r] + s].store(
                    before.accepted(old_r, static_cast<uint32_t>(t)), std::memory_order_relaxed);
            }
        }
    }
}

uint64_t StoreGrantSink::accepted(uint32_t range_id, uint32_t secret_id) const {
    return accepted_[first_secret_[range_id] + secret_id].load(std::memory_order_relaxed);
}

spa::Reject StoreGrantSink::grant(const policy::Knock &knock, const policy::Decision &d) {
    // NAT access forwards the first port and opens nothing on the gateway itself (as fwknopd
    // adds no INPUT rule for it): the mapping first, then the grant that lets the SYN in.
    std::span<const policy::PortRef> ports = d.grant();
    if (d.nat) {
        if (!forward(knock, d)) return spa::Reject::nat_refused;
        ports = ports.first(1);
    }
    int err = store_.grant(knock.source, ports, d.timeout_s, d.range_id, d.secret_id);
    if (err) {
        if (d.nat && nat_) nat_->unmap(knock.source);
        return refused(knock, d, err);
    }
    accepted_[first_secret_[d.range_id] + d.secret_id].fetch_add(1, std::memory_order_relaxed);
    const policy::Range &range = config_->ranges[d.range_id];
    std::string said;  // what the method adds, e.g. fko's user name
    methods::method_of(range).describe(d, said);
    if (d.nat) said += ", forwarded to " + policy::format_endpoint(*d.nat);
    std::string text;
    for (const auto &p : ports) text += (text.empty() ? "" : ",") + policy::format_port(p);
    XK_INFO("%s: authorized %s for %s for %us (range %s, secret %s%s)", ifname_.c_str(),
            policy::format_address(knock.source).c_str(), text.c_str(), d.timeout_s,
            range.name.c_str(), range.secrets[d.secret_id].label.c_str(), said.c_str());
    if (hooks_ && !range.hooks.on_authorize.empty()) run_hook(knock, d, ports);
    return spa::Reject::ok;
}

// NAT access: the grant's first port goes on to the target while the grant lasts; a
// mapping that cannot be made refuses the knock (nothing is opened instead), said.
bool StoreGrantSink::forward(const policy::Knock &knock, const policy::Decision &d) {
    const policy::PortRef port = d.grant()[0];
    const int err = nat_ ? nat_->map(knock.source, port, *d.nat, d.timeout_s) : -ENOSYS;
    if (err == 0) return true;
    XK_WARN("%s: knock from %s refused: %s not forwarded to %s: %s", ifname_.c_str(),
            policy::format_address(knock.source).c_str(), policy::format_port(port).c_str(),
            policy::format_endpoint(*d.nat).c_str(),
            err == -EAFNOSUPPORT ? "source and target are of different IP families"
            : err == -EINVAL     ? "the grant names no single port"
                                 : std::strerror(-err));
    return false;
}

// Queued for the runner's thread: the worker never waits on a command.
void StoreGrantSink::run_hook(const policy::Knock &knock, const policy::Decision &d,
                              std::span<const policy::PortRef> ports) {
    const policy::Range &range = config_->ranges[d.range_id];
    hooks::HookEvent e;
    e.ip = policy::format_address(knock.source);
    for (const auto &p : ports) e.ports.push_back(policy::format_port(p));
    e.range = range.name;
    e.label = range.secrets[d.secret_id].label;
    if (d.fko) e.user = std::string(d.fko->user.view());
    hooks_->submit(hooks::expand(range.hooks.on_authorize, e), range.hooks.timeout_s,
                   "on_authorize of range " + range.name);
}

// A flood of spoofed sources must not become a flood of log lines: one line per range
// every kRefusalLogInterval_s, carrying the running count of refusals.
spa::Reject StoreGrantSink::refused(const policy::Knock &knock, const policy::Decision &d,
                                    int err) {
    const spa::Reject reason = err == auth::AuthorizationStore::kRangeFull ? spa::Reject::range_full
                                                                           : spa::Reject::map_full;
    const int64_t now_s = static_cast<int64_t>(monotonic_ns() / 1000000000ull);
    std::atomic<int64_t> &last = last_refusal_log_[d.range_id];
    int64_t before = last.load(std::memory_order_relaxed);
    if (now_s - before < kRefusalLogInterval_s ||
        !last.compare_exchange_strong(before, now_s, std::memory_order_relaxed)) {
        return reason;
    }
    const policy::Range &range = config_->ranges[d.range_id];
    auth::RangeUsage u = store_.usage(d.range_id);
    std::string source = policy::format_address(knock.source);
    if (reason == spa::Reject::range_full) {
        XK_WARN(
            "%s: range %s is full (%u of %u sources): new sources are refused (%s; %llu "
            "so far); sources it holds still refresh",
            ifname_.c_str(), range.name.c_str(), u.sources, u.quota.max_sources, source.c_str(),
            static_cast<unsigned long long>(u.refused_range_full));
    } else {
        XK_ERROR(
            "%s: knock from %s accepted by range %s but the authorized map refused it: "
            "%s (%llu so far; raise authorized_max?)",
            ifname_.c_str(), source.c_str(), range.name.c_str(), std::strerror(-err),
            static_cast<unsigned long long>(u.refused_map_full));
    }
    return reason;
}

}  // namespace xk::daemon
