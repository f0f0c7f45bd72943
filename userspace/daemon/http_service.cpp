#include "daemon/http_service.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "daemon/guarded_interface.hpp"
#include "log/clock.hpp"
#include "log/log.hpp"

namespace xk::daemon {

static_assert(offsetof(xk_http_event, data) == 48, "xk_http_event layout is shared with BPF");

namespace {
// A copy older than this is a backlog (the ring outlives the daemon), not a knock.
constexpr uint64_t kMaxEventAge_ns = 5'000'000'000ull;
}  // namespace

spa::Reject HttpService::IfaceSink::grant(const policy::Knock &knock, const policy::Decision &d) {
    return iface->grant(knock, d);
}

void HttpService::watch(GuardedInterface &iface, RingPoller &poller) {
    judges_.push_back(std::make_unique<Judge>());
    Judge &judge = *judges_.back();
    judge.sink.iface = &iface;
    poller.add(
        iface.http_events_fd(),
        [this, &judge](const void *data, size_t size) {
            // The record is used in place: 1.5 KiB, no copy of it.
            if (size < sizeof(xk_http_event)) return;
            on_event(judge, *static_cast<const xk_http_event *>(data));
        },
        iface.name() + ": http_events");
}

void HttpService::on_event(Judge &judge, const xk_http_event &e) {
    const uint64_t now_ns = monotonic_ns();
    if (now_ns > e.time_ns && now_ns - e.time_ns > kMaxEventAge_ns) return;
    // A reload swapped the sink's config (under the poller's hold): judge by the new one.
    const std::shared_ptr<const policy::Config> &config = judge.sink.iface->sink().config_ptr();
    if (judge.config != config) {
        judge.handler.reset();
        judge.policy.reset();
        // Set first: building the judges can fail for reasons outside the config (a GPG
        // keyring gone); then this config judges no http knock, and is not retried per event.
        judge.config = config;
        try {
            auto policy = std::make_unique<policy::KnockPolicy>(*config, &replay_);
            judge.handler =
                std::make_unique<workers::KnockHandler>(*policy, judge.sink, judge.stats);
            judge.policy = std::move(policy);
        } catch (const std::exception &ex) {
            judge.handler.reset();
            XK_ERROR("%s: http knocks are refused until the next reload: %s",
                     judge.sink.iface->name().c_str(), ex.what());
        }
    }
    if (!judge.handler) return;
    const size_t len = std::min<size_t>(e.len, XK_HTTP_COPY_MAX);
    judge.handler->handle_http(
        {policy::Address::from_bytes(e.saddr), policy::Address::from_bytes(e.daddr), e.dport},
        {e.data, len}, time(nullptr));
}

}  // namespace xk::daemon
