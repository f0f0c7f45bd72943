#pragma once
// One run-to-completion thread per AF_XDP socket, pinned to a CPU.

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "workers/knock_handler.hpp"
#include "xsk/xsk_socket.hpp"

namespace xk::workers {

class WorkerPool {
public:
    WorkerPool(const policy::KnockPolicy &policy, GrantSink &sink) : policy_(policy), sink_(sink) {}
    ~WorkerPool() { stop(); }

    void start(std::vector<std::unique_ptr<xsk::XskSocket>> sockets);
    void stop();

    size_t size() const { return sockets_.size(); }
    const HandlerStats &stats(size_t i) const { return *stats_[i]; }
    const xsk::XskSocket &socket(size_t i) const { return *sockets_[i]; }

private:
    void run(size_t index);

    const policy::KnockPolicy &policy_;
    GrantSink &sink_;
    std::atomic<bool> running_{false};
    std::vector<std::unique_ptr<xsk::XskSocket>> sockets_;
    std::vector<std::unique_ptr<HandlerStats>> stats_;
    std::vector<std::thread> threads_;
};

}  // namespace xk::workers
