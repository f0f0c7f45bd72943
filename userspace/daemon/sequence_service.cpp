#include "daemon/sequence_service.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "daemon/guarded_interface.hpp"
#include "log/clock.hpp"
#include "log/log.hpp"
#include "methods/registry.hpp"

namespace xk::daemon {

static_assert(sizeof(xk_seq_event) == 32, "xk_seq_event layout is shared with BPF");

namespace {
// A completion older than this is a backlog (the ring outlives the daemon), not a knock.
constexpr uint64_t kMaxEventAge_ns = 5'000'000'000ull;
}  // namespace

SequenceService::SequenceService(const std::string &state_dir)
    : ledger_(state_dir + "/one_time_sequences.json") {}

void SequenceService::watch(GuardedInterface &iface, RingPoller &poller) {
    ifaces_.push_back(&iface);
    poller.add(
        iface.seq_events_fd(),
        [this, &iface](const void *data, size_t size) {
            if (size < sizeof(xk_seq_event)) return;
            xk_seq_event e;
            std::memcpy(&e, data, sizeof(e));
            on_event(iface, e);
        },
        iface.name() + ": seq_events");
}

// Marks the sequence used and moves every gate to the next line, before the grant: a crash
// in between costs the client a knock, never revives a sequence.
bool SequenceService::consume_one_time(const policy::Config &config, uint32_t range_id,
                                       uint32_t generation) {
    const policy::Range &range = config.ranges[range_id];
    std::string err;
    if (!ledger_.consume(range, generation, err)) {
        if (!err.empty())
            XK_ERROR("range %s: cannot record a used one-time sequence (%s): not granted",
                     range.name.c_str(), err.c_str());
        return false;  // empty err: that sequence was used already (two sources raced)
    }
    const gate::SeqCurrent next = ledger_.current(range);
    const auto ids = gate::sequence_range_ids(config);
    const auto seq_index =
        static_cast<uint32_t>(std::find(ids.begin(), ids.end(), range_id) - ids.begin());
    for (GuardedInterface *i : ifaces_) i->write_sequence(seq_index, range_id, next);
    if (next.steps.empty())
        XK_WARN("range %s: every one-time sequence of %s is used: the range takes no knock",
                range.name.c_str(), range.sequence.one_time_file.c_str());
    return true;
}

void SequenceService::on_event(GuardedInterface &iface, const xk_seq_event &e) {
    const policy::Config &config = iface.sink().config();
    if (e.range_id >= config.ranges.size()) return;  // written for a config since replaced
    const policy::Range &range = config.ranges[e.range_id];
    if (methods::method_of(range).judged_by_workers()) return;
    // Completed against the sequence this range takes now, and just now: an event left in
    // the pinned ring by an earlier run, or judged before a reload moved the ranges, is not
    // a knock on what the config says today.
    const uint64_t now_ns = monotonic_ns();
    if (e.generation != ledger_.current(range).generation ||
        (now_ns > e.time_ns && now_ns - e.time_ns > kMaxEventAge_ns)) {
        XK_DEBUG("%s: a stale sequence completion for range %s dropped", iface.name().c_str(),
                 range.name.c_str());
        return;
    }
    policy::Knock knock;
    knock.source = policy::Address::from_bytes(e.saddr);
    knock.now = time(nullptr);
    if (std::none_of(range.sources.begin(), range.sources.end(),
                     [&](const policy::Cidr &c) { return c.contains(knock.source); })) {
        XK_INFO("%s: sequence of range %s completed by %s, outside its sources: refused",
                iface.name().c_str(), range.name.c_str(),
                policy::format_address(knock.source).c_str());
        return;
    }
    if (!range.sequence.one_time.empty() && !consume_one_time(config, e.range_id, e.generation))
        return;
    if (range.sequence.revoke) {  // on every interface: the grants of this gateway
        size_t n = 0;
        for (GuardedInterface *i : ifaces_) n += i->revoke(knock.source);
        XK_INFO("%s: revoke sequence of range %s completed by %s: %zu authorization entr%s ended",
                iface.name().c_str(), range.name.c_str(),
                policy::format_address(knock.source).c_str(), n, n == 1 ? "y" : "ies");
        return;
    }
    policy::Decision d;
    d.reason = spa::Reject::ok;
    d.range_id = e.range_id;
    d.timeout_s = range.timeout_s;
    d.nports = std::min(range.open.size(), policy::kMaxGrantPorts);
    std::copy_n(range.open.begin(), d.nports, d.ports.begin());
    iface.grant(knock, d);
}

}  // namespace xk::daemon
