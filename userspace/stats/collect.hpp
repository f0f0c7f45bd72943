#pragma once
// The daemon's side of the snapshot, once a second: per interface the XDP counters summed
// over CPUs, the AF_XDP queues, rings, workers and latency; the wake hosts. The gate's
// authorizations are left to `xdpknock status`, which lists the pinned map itself.

#include <memory>
#include <vector>

#include "stats/snapshot.hpp"

namespace xk::daemon {
class GuardedInterface;
class HttpService;
}  // namespace xk::daemon
namespace xk::workers {
class WorkerPool;
}
namespace xk::policy {
class ReplayCache;
}

namespace xk::stats {

// Per queue, its workers' counters and histograms merged with its socket's ring stats.
Pipeline collect_pipeline(const workers::WorkerPool &pool);

// wake: null when no host is configured (the snapshot then has no hosts). replay: the
// daemon's replay cache, counted for the metrics (null: no replay_entries). http: the http
// knocks' judge, its interfaces in the order of interfaces (null: no http knocks).
Snapshot collect(const std::vector<std::unique_ptr<daemon::GuardedInterface>> &interfaces,
                 const wake::WakeService *wake, const policy::ReplayCache *replay = nullptr,
                 const daemon::HttpService *http = nullptr);

}  // namespace xk::stats
