#pragma once
// The knock workers: one pinned poller thread per frame source (an AF_XDP socket on an rx
// queue, or an AF_PACKET fanout member), plus extra pinned workers when the config asks for
// more workers than there are sources; a poller hands whole batches to its extras through
// SPSC rings and alone recycles its source's frames.

#include <atomic>
#include <concepts>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "workers/batch_ring.hpp"
#include "workers/frame_source.hpp"
#include "workers/knock_handler.hpp"
#include "workers/latency_histogram.hpp"

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
    // What the workers judge with: a config, the sink its decisions go to, and one
    // KnockPolicy per worker (own crypto contexts) over that config and the shared replay
    // cache. Built whole off the hot path; a worker keeps its generation alive (and so the
    // config its policy points into) until it takes the next one.
    struct Generation {
        std::shared_ptr<const policy::Config> config;
        std::shared_ptr<GrantSink> sink;
        std::vector<std::unique_ptr<policy::KnockPolicy>> policies;  // one per worker
    };

    // The caller keeps config and sink alive for the pool's life.
    WorkerPool(const policy::Config &config, policy::ReplayStore &replay, GrantSink &sink)
        : WorkerPool(std::shared_ptr<const policy::Config>(std::shared_ptr<void>(), &config),
                     replay, std::shared_ptr<GrantSink>(std::shared_ptr<void>(), &sink)) {}
    WorkerPool(std::shared_ptr<const policy::Config> config, policy::ReplayStore &replay,
               std::shared_ptr<GrantSink> sink)
        : config_(std::move(config)), replay_(replay), sink_(std::move(sink)) {}
    ~WorkerPool() { stop(); }

    void start(std::vector<std::unique_ptr<FrameSource>> sources, const PoolOptions &options = {});
    // A vector of one kind of source (the daemon's AF_XDP sockets, a test's PacketSockets).
    template <std::derived_from<FrameSource> S>
    void start(std::vector<std::unique_ptr<S>> sources, const PoolOptions &options = {}) {
        start(std::vector<std::unique_ptr<FrameSource>>(std::make_move_iterator(sources.begin()),
                                                        std::make_move_iterator(sources.end())),
              options);
    }
    void stop();

    // A reload: prepare() builds the policies (throws on a key the methods refuse, and
    // changes nothing); swap() hands the generation over, and each worker takes it before
    // its next batch. Only the thread that started the pool calls these.
    std::shared_ptr<const Generation> prepare(std::shared_ptr<const policy::Config> config,
                                              std::shared_ptr<GrantSink> sink) const;
    void swap(std::shared_ptr<const Generation> next);
    uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

    size_t size() const { return sockets_.size(); }  // sources
    const FrameSource &socket(size_t i) const { return *sockets_[i]; }
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
        size_t index = 0;
        // The generation this worker judges with; renewed at a batch boundary only.
        std::shared_ptr<const Generation> gen;
        uint64_t seen = 0;  // generation_ when gen was taken
        std::optional<KnockHandler> handler;
        // Extras only: batches from the poller, spent batches back to it.
        BatchRing<kRing> inbox;
        BatchRing<kRing> done;
        uint32_t outstanding = 0;  // poller-side: batches handed over and not yet back
        uint32_t lent = 0;         // poller-side: frames in those batches
    };

    void poll_loop(size_t w);
    void reclaim(Worker &x, FrameSource &sock);
    FrameBatch *lend_slot(Worker &x, size_t n, uint32_t lent, uint32_t lend_max);
    void extra_loop(size_t w);
    void adopt(Worker &w);
    void judge(Worker &w, const Frame *frames, size_t n);

    std::shared_ptr<const policy::Config> config_;  // the first generation's
    policy::ReplayStore &replay_;
    std::shared_ptr<GrantSink> sink_;
    // The current generation. Workers read generation_ once per batch (one atomic load)
    // and take the mutex only when it moved: never per packet.
    mutable std::mutex gen_mu_;
    std::shared_ptr<const Generation> gen_;
    std::atomic<uint64_t> generation_{0};
    bool busy_poll_ = false;
    bool raw_ip_ = false;
    std::atomic<bool> running_{false};
    std::vector<std::unique_ptr<FrameSource>> sockets_;
    std::vector<std::unique_ptr<Worker>> workers_;  // the first size() are the pollers
    std::vector<std::vector<size_t>> extras_;       // per socket: its extra workers
    std::vector<std::thread> threads_;
};

}  // namespace xk::workers
