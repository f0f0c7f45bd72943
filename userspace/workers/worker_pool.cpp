#include "workers/worker_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <ctime>

namespace xk::workers {
namespace {
constexpr size_t kBatch = 64;

void pin_to_cpu(unsigned cpu) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu <= 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % static_cast<unsigned>(ncpu), &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
}  // namespace

void WorkerPool::start(std::vector<std::unique_ptr<xsk::XskSocket>> sockets) {
    sockets_ = std::move(sockets);
    for (size_t i = 0; i < sockets_.size(); ++i) {
        stats_.push_back(std::make_unique<HandlerStats>());
        // Built here, not in the thread, so a key problem surfaces before start() returns.
        policies_.push_back(std::make_unique<policy::KnockPolicy>(config_, &replay_));
    }
    running_ = true;
    for (size_t i = 0; i < sockets_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
}

void WorkerPool::stop() {
    running_ = false;
    for (auto &t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

void WorkerPool::run(size_t index) {
    xsk::XskSocket &sock = *sockets_[index];
    pin_to_cpu(sock.queue());
    KnockHandler handler(*policies_[index], sink_, *stats_[index]);
    xsk::Frame frames[kBatch];
    while (running_.load(std::memory_order_relaxed)) {
        size_t n = sock.receive(frames, kBatch, 100);
        int64_t now = time(nullptr);
        for (size_t i = 0; i < n; ++i) handler.handle_frame(frames[i].data, frames[i].len, now);
        sock.release();
    }
}

}  // namespace xk::workers
