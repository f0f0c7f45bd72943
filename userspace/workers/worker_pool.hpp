#pragma once
// The knock workers: one pinned poller thread per AF_XDP socket (rx queue), plus extra
// pinned workers when the config asks for more workers than there are queues; a poller
// hands whole batches to its extras through SPSC rings and alone refills its fill ring.

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "workers/batch_ring.hpp"
#include "workers/knock_handler.hpp"
#include "workers/latency_histogram.hpp"
#include "xsk/xsk_socket.hpp"

namespace xk::workers {

struct PoolOptions {
    unsigned workers = 0;        // 0: online CPUs; never fewer than sockets
    std::vector<unsigned> cpus;  // worker i runs on cpus[i % size]; empty: CPU i % online
    bool raw_ip = false;         // the link's frames start at the IP header (tun, ppp, ...)
};

// What status shows per worker.
struct WorkerInfo {
    size_t socket;  // index of the socket it serves
    unsigned cpu;
    bool poller;  // polls the socket itself (else fed by the poller)
};

class WorkerPool {
  public:
    // Each worker builds its own KnockPolicy (own crypto contexts) over the shared
    // config and replay cache.
    WorkerPool(const policy::Config &config, policy::ReplayCache &replay, GrantSink &sink)
        : config_(config), replay_(replay), sink_(sink) {}
    ~WorkerPool() { stop(); }

    void start(std::vector<std::unique_ptr<xsk::XskSocket>> sockets,
               const PoolOptions &options = {});
    void stop();

    size_t size() const { return sockets_.size(); }  // sockets
    const xsk::XskSocket &socket(size_t i) const { return *sockets_[i]; }
    size_t workers() const { return workers_.size(); }
    const WorkerInfo &info(size_t w) const { return workers_[w]->info; }
    const HandlerStats &stats(size_t w) const { return workers_[w]->stats; }
    const LatencyHistogram &latency(size_t w) const { return workers_[w]->latency; }

  private:
    static constexpr size_t kRing = 16;  // batches in flight per extra worker

    struct Worker {
        WorkerInfo info{};
        HandlerStats stats;
        LatencyHistogram latency;
        std::unique_ptr<policy::KnockPolicy> policy;
        // Extras only: batches from the poller, spent batches back to it.
        BatchRing<kRing> inbox;
        BatchRing<kRing> done;
        uint32_t outstanding = 0;  // poller-side: batches handed over and not yet back
    };

    void poll_loop(size_t w);
    void reclaim(Worker &x, xsk::XskSocket &sock);
    void extra_loop(size_t w);
    void judge(Worker &w, KnockHandler &h, const xsk::Frame *frames, size_t n);

    const policy::Config &config_;
    policy::ReplayCache &replay_;
    GrantSink &sink_;
    bool busy_poll_ = false;
    bool raw_ip_ = false;
    std::atomic<bool> running_{false};
    std::vector<std::unique_ptr<xsk::XskSocket>> sockets_;
    std::vector<std::unique_ptr<Worker>> workers_;  // the first size() are the pollers
    std::vector<std::vector<size_t>> extras_;       // per socket: its extra workers
    std::vector<std::thread> threads_;
};

}  // namespace xk::workers
