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
    // Each worker builds its own KnockPolicy (own crypto contexts) over the shared
    // config and replay cache.
    WorkerPool(const policy::Config &config, policy::ReplayCache &replay, GrantSink &sink)
        : config_(config), replay_(replay), sink_(sink) {}
    ~WorkerPool() { stop(); }

    void start(std::vector<std::unique_ptr<xsk::XskSocket>> sockets);
    void stop();

    size_t size() const { return sockets_.size(); }
    const HandlerStats &stats(size_t i) const { return *stats_[i]; }
    const xsk::XskSocket &socket(size_t i) const { return *sockets_[i]; }

  private:
    void run(size_t index);

    const policy::Config &config_;
    policy::ReplayCache &replay_;
    GrantSink &sink_;
    std::atomic<bool> running_{false};
    std::vector<std::unique_ptr<xsk::XskSocket>> sockets_;
    std::vector<std::unique_ptr<HandlerStats>> stats_;
    std::vector<std::unique_ptr<policy::KnockPolicy>> policies_;
    std::vector<std::thread> threads_;
};

}  // namespace xk::workers
