#pragma once
// One AF_XDP socket on one rx queue, with its own UMEM: the knock candidates XDP
// redirected to that queue arrive here. Receive-only.

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

struct xsk_socket;
struct xsk_umem;

namespace xk::xsk {

class XskError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Frame {
    const uint8_t *data;
    uint32_t len;
    uint64_t addr;  // UMEM address: what recycle() hands back to the fill ring
};

struct RingStats {
    uint64_t rx_dropped = 0;    // dropped by the kernel: no room in the rx ring, etc.
    uint64_t rx_ring_full = 0;  // frames lost because our rx ring was full
    uint64_t fill_empty = 0;    // times the fill ring had no buffer
    uint64_t rx_invalid = 0;
};

struct XskOptions {
    uint32_t frames = 4096;  // UMEM frames; half stay in the fill ring
    uint32_t ring_size = 2048;
    bool busy_poll = false;  // SO_PREFER_BUSY_POLL + SO_BUSY_POLL; receive() never sleeps
};

class XskSocket {
  public:
    // Binds to ifname/queue (zero-copy where the driver offers it, copy otherwise),
    // with need-wakeup, and registers itself in xsks[queue].
    static std::unique_ptr<XskSocket> open(const std::string &ifname, uint32_t queue,
                                           int xsks_map_fd, const XskOptions &options = {});
    ~XskSocket();
    XskSocket(const XskSocket &) = delete;
    XskSocket &operator=(const XskSocket &) = delete;

    // Up to max frames, waiting up to timeout_ms for the first (busy poll: never waits).
    // The rx slots are freed at once; the frames stay ours in UMEM until recycle() puts
    // them back in the fill ring, so a batch may be handed to another thread meanwhile.
    size_t receive(Frame *out, size_t max, int timeout_ms);
    // Only the thread that calls receive() may call it: the fill ring has one producer.
    void recycle(const Frame *frames, size_t n);
    void recycle(const uint64_t *addrs, size_t n);
    // The XDP timestamp in front of a frame, 0 when it carries none.
    static uint64_t rx_ns(const Frame &f);

    int fd() const;
    uint32_t queue() const { return queue_; }
    RingStats stats() const;
    int busy_poll_error() const { return busy_poll_error_; }

  private:
    XskSocket() = default;
    void refill(uint32_t n);
    void enable_busy_poll();

    struct Rings;
    std::unique_ptr<Rings> rings_;
    xsk_umem *umem_ = nullptr;
    xsk_socket *socket_ = nullptr;
    void *area_ = nullptr;
    size_t area_size_ = 0;
    uint32_t queue_ = 0;
    bool busy_poll_ = false;
    int busy_poll_error_ = 0;  // errno of a refused busy-poll option, 0 if all took
};

// Rx queues the interface has (ethtool channels); 1 when the driver does not say.
uint32_t rx_queue_count(const std::string &ifname);
// Rx-only plus combined channels (each brings an rx queue), at least 1. Pure.
uint32_t rx_queues_from_channels(uint32_t rx_only, uint32_t combined);

}  // namespace xk::xsk
