#pragma once
// One AF_XDP socket on one rx queue, with its own UMEM: the knock candidates XDP
// redirected to that queue arrive here. Receive-only.
//
// Memory per queue: the UMEM, frames × frame size, pinned (resident) for the socket's life —
// 1,024 × 2 KiB = 2 MiB by default — plus rings of 16 bytes (rx) and 8 bytes (fill) per frame.

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "workers/frame_source.hpp"

struct xsk_socket;
struct xsk_umem;

namespace xk::xsk {

class XskError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Frame::addr is the UMEM address: what recycle() hands back to the fill ring.
using Frame = workers::Frame;
using RingStats = workers::RingStats;

struct XskOptions {
    // UMEM frames (a power of two, config "umem_frames"): every one waits in the fill ring,
    // so this is the burst the queue absorbs while its worker is busy.
    uint32_t frames = 1024;
    // Fill and rx ring entries (a power of two); 0: frames. A smaller ring leaves the frames
    // beyond it unused (tests that want a small fill ring).
    uint32_t ring_size = 0;
    // 0: 2 KiB when a frame of the link's MTU fits one (with XDP's headroom and two VLAN
    // tags), else 4 KiB.
    uint32_t frame_size = 0;
    bool busy_poll = false;  // SO_PREFER_BUSY_POLL + SO_BUSY_POLL; receive() never sleeps
    // After a frame, receive() watches the ring this long before it sleeps in poll(): a
    // knock right behind another skips the wake-up (0: sleep at once). At most this long per
    // millisecond, so a busy queue never turns it into a busy poll. Busy poll ignores it.
    uint32_t idle_spin_us = 50;
};

class XskSocket final : public workers::FrameSource {
  public:
    // Binds to ifname/queue (zero-copy where the driver offers it, copy otherwise),
    // with need-wakeup, and registers itself in xsks[queue].
    static std::unique_ptr<XskSocket> open(const std::string &ifname, uint32_t queue,
                                           int xsks_map_fd, const XskOptions &options = {});
    ~XskSocket() override;
    XskSocket(const XskSocket &) = delete;
    XskSocket &operator=(const XskSocket &) = delete;

    // Up to max frames, waiting up to timeout_ms for the first (busy poll: never waits).
    // The rx slots are freed at once; the frames stay ours in UMEM until recycle() puts
    // them back in the fill ring, so a batch may be handed to another thread meanwhile.
    // Frame::rx_ns is XDP's stamp (rx_ns()), 0 for a knock XDP did not stamp.
    size_t receive(Frame *out, size_t max, int timeout_ms) override;
    // Only the thread that calls receive() may call it: the fill ring has one producer.
    // A frame goes back without its XDP stamp (rx_ns() then reads 0 until XDP stamps it again).
    void recycle(const Frame *frames, size_t n) override;
    void recycle(const uint64_t *addrs, size_t n);
    // The XDP timestamp in front of a frame, 0 when it carries none.
    static uint64_t rx_ns(const Frame &f);

    int fd() const;
    uint32_t queue() const override { return queue_; }
    uint32_t frame_size() const { return frame_size_; }
    // Frames in circulation: the fill (and rx) ring's size.
    uint32_t ring_frames() const override { return ring_frames_; }
    size_t umem_bytes() const { return area_size_; }
    RingStats stats() const override;
    int busy_poll_error() const { return busy_poll_error_; }

  private:
    XskSocket() = default;
    void refill(uint32_t n);
    void enable_busy_poll();
    void forget_stamp(uint64_t addr);
    uint32_t peek(size_t max, uint32_t &idx);
    uint32_t wait(size_t max, uint32_t &idx, int timeout_ms);
    uint32_t spin(size_t max, uint32_t &idx);

    struct Rings;
    std::unique_ptr<Rings> rings_;
    xsk_umem *umem_ = nullptr;
    xsk_socket *socket_ = nullptr;
    void *area_ = nullptr;
    size_t area_size_ = 0;
    uint32_t queue_ = 0;
    uint32_t frame_size_ = 0;
    uint32_t ring_frames_ = 0;
    uint64_t spin_ns_ = 0;
    uint64_t last_rx_ns_ = 0;       // CLOCK_MONOTONIC of the last frame received
    uint64_t window_start_ns_ = 0;  // the spin budget's current millisecond
    uint64_t spun_ns_ = 0;          // spent spinning in it
    bool busy_poll_ = false;
    int busy_poll_error_ = 0;  // errno of a refused busy-poll option, 0 if all took
};

// The UMEM frame size for a link MTU (XskOptions::frame_size 0). Pure.
uint32_t frame_size_for_mtu(uint32_t mtu);

// Rx queues the interface has (ethtool channels); 1 when the driver does not say.
uint32_t rx_queue_count(const std::string &ifname);
// Rx-only plus combined channels (each brings an rx queue), at least 1. Pure.
uint32_t rx_queues_from_channels(uint32_t rx_only, uint32_t combined);

}  // namespace xk::xsk
