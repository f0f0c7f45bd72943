#pragma once
// The gates' ring buffers of events for userspace (completed sequences, copies of http
// knocks): one thread polls them all and runs each record's handler under one lock, which a
// reload holds while it swaps configs, so a record is judged against one config, whole.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct ring_buffer;

namespace xk::daemon {

class RingPoller {
  public:
    // A record as the ring holds it; a handler may throw: the record is then lost, and
    // logged with the ring's description.
    using Handler = std::function<void(const void *data, size_t size)>;

    RingPoller() = default;
    ~RingPoller();
    RingPoller(const RingPoller &) = delete;
    RingPoller &operator=(const RingPoller &) = delete;

    // Before start(); what names the ring in errors ("eth0: seq_events"). Throws.
    void add(int fd, Handler handler, std::string what);
    void start();
    void stop();
    std::unique_lock<std::mutex> hold() { return std::unique_lock(mu_); }

  private:
    struct Ring {
        RingPoller *poller;
        Handler handler;
        std::string what;
    };
    static int on_record(void *ctx, void *data, size_t size);

    std::mutex mu_;
    std::vector<std::unique_ptr<Ring>> rings_;
    ring_buffer *rb_ = nullptr;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace xk::daemon
