#include "stats/collect.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>

#include "daemon/guarded_interface.hpp"
#include "daemon/http_service.hpp"
#include "policy/replay_cache.hpp"

namespace xk::stats {
namespace {

void add_judged(Queue &q, const workers::HandlerStats &s) {
    constexpr auto relaxed = std::memory_order_relaxed;
    q.frames += s.frames.load(relaxed);
    q.accepted += s.accepted.load(relaxed);
    q.not_knock += s.not_knock.load(relaxed);
    for (size_t r = 0; r < q.rejected.size(); ++r) q.rejected[r] += s.rejected[r].load(relaxed);
}

void add_worker(Queue &q, const workers::HandlerStats &s, const workers::LatencyHistogram &lat) {
    add_judged(q, s);
    lat.add_to(q.latency);
    ++q.workers;
}

bool takes_http(const policy::Config &c) {
    return std::any_of(c.ranges.begin(), c.ranges.end(),
                       [](const policy::Range &r) { return r.takes(policy::Transport::http); });
}

// Per range: grants per secret label, and its share of the store.
std::vector<Range> collect_ranges(const daemon::GuardedInterface &gi) {
    std::vector<Range> out;
    const policy::Config &config = gi.sink().config();
    for (uint32_t r = 0; r < config.ranges.size(); ++r) {
        const policy::Range &range = config.ranges[r];
        Range x{range.name, {}, 0, 0, 0, 0};
        for (uint32_t s = 0; s < range.secrets.size(); ++s)
            x.accepted.emplace_back(range.secrets[s].label, gi.sink().accepted(r, s));
        const auth::RangeUsage u = gi.store().usage(r);
        x.sources = u.sources;
        x.max_sources = u.quota.max_sources;
        x.range_full = u.refused_range_full;
        x.map_full = u.refused_map_full;
        x.entries = u.entries;
        out.push_back(std::move(x));
    }
    return out;
}

// The map's real size: a map kept from an earlier run keeps the size it was made with.
std::optional<uint32_t> map_max_entries(int map_fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) return std::nullopt;
    return info.max_entries;
}

}  // namespace

Pipeline collect_pipeline(const workers::WorkerPool &pool) {
    Pipeline p;
    p.queues.resize(pool.size());
    for (size_t i = 0; i < pool.size(); ++i) {
        const xsk::RingStats ring = pool.socket(i).stats();
        p.queues[i].queue = pool.socket(i).queue();
        p.queues[i].ring_full = ring.rx_ring_full;
        p.queues[i].rx_dropped = ring.rx_dropped;
        p.queues[i].fill_empty = ring.fill_empty;
    }
    for (size_t w = 0; w < pool.workers(); ++w) {
        const workers::WorkerInfo &info = pool.info(w);
        add_worker(p.queues[info.socket], pool.stats(w), pool.latency(w));
        p.workers.push_back({info.cpu, pool.socket(info.socket).queue(), info.poller,
                             pool.stats(w).frames.load(std::memory_order_relaxed)});
    }
    return p;
}

Snapshot collect(const std::vector<std::unique_ptr<daemon::GuardedInterface>> &interfaces,
                 const wake::WakeService *wake, const policy::ReplayCache *replay,
                 const daemon::HttpService *http) {
    Snapshot s;
    s.pid = getpid();
    for (size_t n = 0; n < interfaces.size(); ++n) {
        const auto &gi = interfaces[n];
        Interface i;
        i.name = gi->name();
        i.mode = gi->mode_name();
        i.counters = gi->counters();
        if (const workers::WorkerPool *pool = gi->pool()) i.pipeline = collect_pipeline(*pool);
        if (i.pipeline && http && takes_http(gi->sink().config()))
            add_judged(i.pipeline->http.emplace(), http->stats(n));
        i.ranges = collect_ranges(*gi);
        const int fd = gi->authorized_fd();
        i.authorized_max = fd >= 0 ? map_max_entries(fd) : gi->sink().config().authorized_max;
        s.interfaces.push_back(std::move(i));
    }
    if (wake) s.hosts = wake->hosts();
    if (replay) s.replay_entries = replay->size();
    return s;
}

}  // namespace xk::stats
