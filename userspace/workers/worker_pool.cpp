#include "workers/worker_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <ctime>

#include "log/log.hpp"

namespace xk::workers {
namespace {

void pin_to_cpu(unsigned cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (err) XK_WARN("cannot pin a worker to CPU %u: error %d", cpu, err);
}

uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

}  // namespace

void WorkerPool::start(std::vector<std::unique_ptr<FrameSource>> sources,
                       const PoolOptions &options) {
    sockets_ = std::move(sources);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned ncpu = online > 0 ? static_cast<unsigned>(online) : 1;
    size_t n = options.workers ? options.workers : ncpu;
    if (n < sockets_.size()) {
        XK_WARN("%zu worker(s) configured for %zu rx queue(s): running one per queue", n,
                sockets_.size());
        n = sockets_.size();
    }
    extras_.assign(sockets_.size(), {});
    for (size_t i = 0; i < n; ++i) {
        auto w = std::make_unique<Worker>();
        w->index = i;
        w->info.socket = i % sockets_.size();
        w->info.poller = i < sockets_.size();
        w->info.cpu = options.cpus.empty() ? static_cast<unsigned>(i % ncpu)
                                           : options.cpus[i % options.cpus.size()];
        if (!w->info.poller) extras_[w->info.socket].push_back(i);
        workers_.push_back(std::move(w));
    }
    raw_ip_ = options.raw_ip;
    // Built here, not in the threads, so a key problem surfaces before start() returns.
    gen_ = prepare(config_, sink_);
    for (auto &w : workers_) adopt(*w);
    busy_poll_ = config_->busy_poll;
    running_ = true;
    for (size_t i = 0; i < workers_.size(); ++i) {
        if (workers_[i]->info.poller) {
            threads_.emplace_back([this, i] { poll_loop(i); });
        } else {
            threads_.emplace_back([this, i] { extra_loop(i); });
        }
    }
}

void WorkerPool::stop() {
    running_ = false;
    for (auto &t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

std::shared_ptr<const WorkerPool::Generation> WorkerPool::prepare(
    std::shared_ptr<const policy::Config> config, std::shared_ptr<GrantSink> sink) const {
    auto next = std::make_shared<Generation>();
    next->config = std::move(config);
    next->sink = std::move(sink);
    for (size_t i = 0; i < workers_.size(); ++i)
        next->policies.push_back(std::make_unique<policy::KnockPolicy>(*next->config, &replay_));
    return next;
}

void WorkerPool::swap(std::shared_ptr<const Generation> next) {
    std::lock_guard lock(gen_mu_);
    gen_.swap(next);
    generation_.fetch_add(1, std::memory_order_release);
    // `next` now holds the old generation: freed here or by the last worker still on it.
}

// Takes the current generation: this worker's policy, and the sink it grants through.
// The one it drops is freed here if no other worker still judges with it.
void WorkerPool::adopt(Worker &w) {
    std::shared_ptr<const Generation> g;
    {
        std::lock_guard lock(gen_mu_);
        g = gen_;
        w.seen = generation_.load(std::memory_order_relaxed);
    }
    w.handler.emplace(*g->policies[w.index], *g->sink, w.stats, raw_ip_);
    w.gen = std::move(g);
}

void WorkerPool::judge(Worker &w, const Frame *frames, size_t n) {
    // A reload applies from the next batch: one atomic load per batch, never per packet.
    if (generation_.load(std::memory_order_acquire) != w.seen) adopt(w);
    int64_t now = time(nullptr);
    for (size_t i = 0; i < n; ++i) {
        if (w.handler->handle_frame(frames[i].data, frames[i].len, now) != spa::Reject::ok)
            continue;
        // Timed from arrival (XDP's stamp, the packet ring's) to after the grant: what a
        // client waits for before its SYN.
        // A stamp converted from the wall clock may lead ours by a hair: never a negative.
        const uint64_t rx = frames[i].rx_ns, done = rx ? monotonic_ns() : 0;
        if (rx) w.latency.record(done > rx ? done - rx : 0);
    }
}

// Takes an extra worker's finished batches back to the source (poller only).
void WorkerPool::reclaim(Worker &x, FrameSource &sock) {
    while (FrameBatch *b = x.done.front()) {
        sock.recycle(b->frames.data(), b->n);
        x.lent -= b->n;
        x.done.pop();
        --x.outstanding;
    }
}

// The extra's inbox slot for a batch of n frames, or nullptr: its ring is full, or the
// extras of this socket would hold more than lend_max frames. A starved extra (its CPU
// taken by softirq or other work) must not keep the fill ring empty while the poller could
// judge: with every frame in extras' inboxes the queue drops whatever arrives.
FrameBatch *WorkerPool::lend_slot(Worker &x, size_t n, uint32_t lent, uint32_t lend_max) {
    if (x.outstanding >= kRing || lent + n > lend_max) return nullptr;
    return x.inbox.slot();
}

// Polls the socket; each batch goes to the first extra worker with room (round robin),
// else is judged here. Spent frames come back through `done` and only this thread puts
// them in the fill ring, which has a single producer.
void WorkerPool::poll_loop(size_t index) {
    Worker &self = *workers_[index];
    FrameSource &sock = *sockets_[self.info.socket];
    const std::vector<size_t> &extras = extras_[self.info.socket];
    pin_to_cpu(self.info.cpu);
    Frame frames[kBatch];
    size_t next = 0;
    // At least half the socket's frames stay with the kernel and this thread.
    const uint32_t lend_max = sock.ring_frames() / 2;
    while (running_.load(std::memory_order_relaxed)) {
        uint32_t in_flight = 0, lent = 0;
        for (size_t e : extras) {
            Worker &x = *workers_[e];
            reclaim(x, sock);
            in_flight += x.outstanding;
            lent += x.lent;
        }
        // Short waits while extras hold frames, so they return to the fill ring promptly.
        size_t n = sock.receive(frames, kBatch, in_flight ? 1 : 100);
        if (n == 0) continue;
        // Round robin over the poller and its extras; a full extra's turn falls to us.
        size_t turn = next;
        next = (next + 1) % (extras.size() + 1);
        if (turn > 0) {
            Worker &x = *workers_[extras[turn - 1]];
            if (FrameBatch *b = lend_slot(x, n, lent, lend_max)) {
                std::copy(frames, frames + n, b->frames.begin());
                b->n = static_cast<uint32_t>(n);
                x.inbox.publish();
                ++x.outstanding;
                x.lent += static_cast<uint32_t>(n);
                continue;
            }
        }
        judge(self, frames, n);
        sock.recycle(frames, n);
    }
    // Wake extras asleep on an empty inbox so they see running_ == false. Their finished
    // batches are taken back first: with all of them in `done`, the inbox is empty and
    // only this wake can reach the sleeper.
    for (size_t e : extras) {
        Worker &x = *workers_[e];
        reclaim(x, sock);
        FrameBatch *b = x.outstanding < kRing ? x.inbox.slot() : nullptr;
        if (b) {
            b->n = 0;
            x.inbox.publish();
        }
    }
}

void WorkerPool::extra_loop(size_t index) {
    Worker &self = *workers_[index];
    pin_to_cpu(self.info.cpu);
    while (running_.load(std::memory_order_relaxed)) {
        FrameBatch *b = self.inbox.front();
        if (!b) {
            self.inbox.wait_nonempty();
            continue;
        }
        // Never full: the poller keeps at most kRing batches out across both rings.
        FrameBatch *back = self.done.slot();
        if (!back) {  // cannot happen while the poller keeps count; never overwrite a slot
            sched_yield();
            continue;
        }
        judge(self, b->frames.data(), b->n);
        std::copy(b->frames.begin(), b->frames.begin() + b->n, back->frames.begin());
        back->n = b->n;
        self.inbox.pop();
        self.done.publish();
    }
}

}  // namespace xk::workers
