#pragma once
// One AF_PACKET knock socket: a gate without XDP (nftables) gets its knock candidates here.
// A SOCK_DGRAM socket on one interface (frames start at the IP header on every link type:
// run the handler with raw_ip), filtered in the kernel to knock candidates (knock_filter),
// with a TPACKET_V3 rx ring, joined to a PACKET_FANOUT_HASH group: one member per worker
// poller, and a flow's packets (addresses and ports) always reach the same member; the replay
// cache, shared, makes one decision per packet whichever member took it.
//
// Each frame is copied out of the ring into a private pool, so a block goes back to the
// kernel as soon as it is read (one a batch ended in waits for the next receive()) and the
// frame stays valid until recycle(), as an AF_XDP frame does.
//
// RingStats, as AF_PACKET fills them:
//   rx_dropped   the kernel's drops: the ring was full (PACKET_STATISTICS tp_drops)
//   rx_ring_full times the ring froze full (tp_freeze_q_cnt)
//   fill_empty   frames dropped because every pool slot was lent out
//   rx_invalid   frames dropped because they were longer than a pool slot, and errors the
//                link left pending on the socket (ENETDOWN when it went down), read

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "packet/knock_filter.hpp"
#include "workers/frame_source.hpp"

namespace xk::packet {

using workers::Frame;
using workers::RingStats;

class PacketError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct PacketOptions {
    uint32_t pool_frames = 1024;    // frames a socket holds at once (the burst it absorbs)
    uint32_t frame_size = 2048;     // a pool slot: longer frames are dropped (rx_invalid)
    uint32_t block_size = 1 << 16;  // ring block, a multiple of the page size
    uint32_t block_count = 16;
    // A block with a packet in it goes to userspace after this long at the latest: a knock's
    // worst wait before its worker sees it.
    uint32_t retire_ms = 2;
};

class PacketSocket final : public workers::FrameSource {
  public:
    // Member `member` of fanout group `fanout_group` on ifname (see fanout_group_id).
    static std::unique_ptr<PacketSocket> open(const std::string &ifname, uint32_t member,
                                              uint16_t fanout_group, const KnockPorts &ports,
                                              const PacketOptions &options = {});
    ~PacketSocket() override;
    PacketSocket(const PacketSocket &) = delete;
    PacketSocket &operator=(const PacketSocket &) = delete;

    // Frame::addr is the pool slot's offset; Frame::rx_ns the kernel's receive time.
    size_t receive(Frame *out, size_t max, int timeout_ms) override;
    void recycle(const Frame *frames, size_t n) override;
    uint32_t ring_frames() const override { return pool_frames_; }
    uint32_t queue() const override { return member_; }
    RingStats stats() const override;
    int fd() const { return fd_; }

  private:
    PacketSocket() = default;
    void setup_ring(const PacketOptions &options);
    void join(uint32_t ifindex, uint16_t fanout_group);
    bool take(Frame &out, const uint8_t *pkt, uint64_t offset_ns);
    void release_block();
    void clear_error();

    int fd_ = -1;
    uint32_t member_ = 0;
    // The rx ring: block_count_ blocks of block_size_ bytes; cur_ is the next we read, and
    // next_pkt_ our place in it when a batch ended mid-block.
    uint8_t *ring_ = nullptr;
    size_t ring_bytes_ = 0;
    uint32_t block_size_ = 0, block_count_ = 0, cur_ = 0;
    uint32_t pkt_left_ = 0;
    const uint8_t *next_pkt_ = nullptr;
    // The pool: slots of frame_size_ bytes, and the free ones (a stack; no allocation).
    std::vector<uint8_t> pool_;
    std::vector<uint32_t> free_;
    uint32_t pool_frames_ = 0, frame_size_ = 0;
    std::atomic<uint64_t> pool_empty_{0}, too_long_{0};
    std::atomic<uint64_t> socket_errors_{0};  // errors the link left pending (ENETDOWN), read
    // PACKET_STATISTICS resets the kernel's counters on each read: summed here.
    mutable std::mutex stats_mu_;
    mutable RingStats kernel_;
};

// A fanout group id for one daemon on one interface: groups are per network namespace, and
// another process's group must not be joined by accident.
uint16_t fanout_group_id(uint32_t ifindex);

}  // namespace xk::packet
