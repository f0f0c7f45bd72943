#pragma once
// Where the workers' frames come from: an AF_XDP socket on one rx queue (the XDP gate) or an
// AF_PACKET fanout member (a gate without XDP). One poller thread owns a source: it alone
// calls receive() and recycle().

#include <cstddef>
#include <cstdint>

namespace xk::workers {

struct Frame {
    const uint8_t *data;
    uint32_t len;
    uint64_t addr;       // the source's handle for the frame's buffer: what recycle() takes back
    uint64_t rx_ns = 0;  // CLOCK_MONOTONIC when the frame arrived; 0 unknown
};

// A source's losses. AF_PACKET maps its own counters onto these (packet_socket.hpp).
struct RingStats {
    uint64_t rx_dropped = 0;    // dropped by the kernel: no room in the rx ring, etc.
    uint64_t rx_ring_full = 0;  // frames lost because our rx ring was full
    uint64_t fill_empty = 0;    // times the fill ring had no buffer
    uint64_t rx_invalid = 0;
};

class FrameSource {
  public:
    virtual ~FrameSource() = default;
    // Up to max frames, waiting up to timeout_ms for the first. A frame stays valid, and its
    // buffer ours, until recycle() hands it back: a batch may go to another thread meanwhile.
    virtual size_t receive(Frame *out, size_t max, int timeout_ms) = 0;
    // Only the thread that calls receive() may call it.
    virtual void recycle(const Frame *frames, size_t n) = 0;
    // Frame buffers in circulation: what the poller may lend to its extra workers is half.
    virtual uint32_t ring_frames() const = 0;
    // The id status shows: the rx queue (AF_XDP), the fanout member index (AF_PACKET).
    virtual uint32_t queue() const = 0;
    // Safe from another thread while the poller runs.
    virtual RingStats stats() const = 0;
};

}  // namespace xk::workers
