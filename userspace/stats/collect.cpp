#include "stats/collect.hpp"

#include <unistd.h>

#include "daemon/guarded_interface.hpp"

namespace xk::stats {
namespace {

void add_worker(Queue &q, const workers::HandlerStats &s, const workers::LatencyHistogram &lat) {
    constexpr auto relaxed = std::memory_order_relaxed;
    q.frames += s.frames.load(relaxed);
    q.accepted += s.accepted.load(relaxed);
    q.not_knock += s.not_knock.load(relaxed);
    for (size_t r = 0; r < q.rejected.size(); ++r) q.rejected[r] += s.rejected[r].load(relaxed);
    lat.add_to(q.latency);
    ++q.workers;
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
                 const wake::WakeService *wake) {
    Snapshot s;
    s.pid = getpid();
    for (const auto &gi : interfaces) {
        Interface i;
        i.name = gi->name();
        i.mode = gi->gate().mode_name();
        i.counters = gate::read_counters(gi->gate().counters_fd());
        if (const workers::WorkerPool *pool = gi->pool()) i.pipeline = collect_pipeline(*pool);
        s.interfaces.push_back(std::move(i));
    }
    if (wake) s.hosts = wake->hosts();
    return s;
}

}  // namespace xk::stats
