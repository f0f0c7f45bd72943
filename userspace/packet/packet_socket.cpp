#include "packet/packet_socket.hpp"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace xk::packet {
namespace {

std::string errstr() {
    return std::strerror(errno);
}

uint64_t clock_ns(clockid_t clock) {
    timespec ts;
    clock_gettime(clock, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

void attach_filter(int fd, const KnockPorts &ports) {
    std::vector<sock_filter> code = knock_filter(ports);
    sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
        throw PacketError("cannot attach the knock filter: " + errstr());
    // The filter refuses them too; this spares them the filter (Linux 4.20 and later).
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
}

}  // namespace

void PacketSocket::clear_error() {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    socket_errors_.fetch_add(1, std::memory_order_relaxed);
}

uint16_t fanout_group_id(uint32_t ifindex) {
    return static_cast<uint16_t>((static_cast<uint32_t>(getpid()) * 31u + ifindex) & 0xffff);
}

std::unique_ptr<PacketSocket> PacketSocket::open(const std::string &ifname, uint32_t member,
                                                 uint16_t fanout_group, const KnockPorts &ports,
                                                 const PacketOptions &options) {
    const uint32_t ifindex = if_nametoindex(ifname.c_str());
    if (ifindex == 0) throw PacketError(ifname + ": no such interface");
    if (options.pool_frames == 0 || options.frame_size < 64)
        throw PacketError("packet pool: at least one frame of 64 bytes");
    std::unique_ptr<PacketSocket> s(new PacketSocket());
    s->member_ = member;
    // Protocol 0: the socket sees nothing until bind(), so no packet is queued before the
    // filter took (the classic race of filtering an open socket), and none needs draining.
    s->fd_ = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd_ < 0) throw PacketError("cannot open an AF_PACKET socket: " + errstr());
    attach_filter(s->fd_, ports);
    s->setup_ring(options);
    s->pool_frames_ = options.pool_frames;
    s->frame_size_ = options.frame_size;
    s->pool_.resize(size_t{options.pool_frames} * options.frame_size);
    s->free_.reserve(options.pool_frames);
    for (uint32_t i = options.pool_frames; i-- > 0;) s->free_.push_back(i);
    s->join(ifindex, fanout_group);
    return s;
}

PacketSocket::~PacketSocket() {
    if (ring_) munmap(ring_, ring_bytes_);
    if (fd_ >= 0) close(fd_);
}

void PacketSocket::setup_ring(const PacketOptions &options) {
    int version = TPACKET_V3;
    if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0)
        throw PacketError("TPACKET_V3 refused: " + errstr());
    constexpr uint32_t kFrame = 2048;  // V3 packs packets in a block: only a nominal size
    tpacket_req3 req{};
    req.tp_block_size = options.block_size;
    req.tp_block_nr = options.block_count;
    req.tp_frame_size = kFrame;
    req.tp_frame_nr = options.block_size / kFrame * options.block_count;
    req.tp_retire_blk_tov = options.retire_ms;
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
        throw PacketError("cannot set up the packet ring: " + errstr());
    ring_bytes_ = size_t{options.block_size} * options.block_count;
    void *map = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (map == MAP_FAILED) throw PacketError("cannot map the packet ring: " + errstr());
    ring_ = static_cast<uint8_t *>(map);
    block_size_ = options.block_size;
    block_count_ = options.block_count;
}

// Bound, then in the fanout group (a socket must be bound to join). In between this
// member sees every knock: another member may judge one twice, which the replay cache
// turns into one decision.
void PacketSocket::join(uint32_t ifindex, uint16_t fanout_group) {
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0)
        throw PacketError("cannot bind the packet socket: " + errstr());
    // Hash: a flow's packets (its fragments joined first) reach one member.
    const int arg = fanout_group | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
    if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0)
        throw PacketError("cannot join fanout group " + std::to_string(fanout_group) + ": " +
                          errstr());
}

void PacketSocket::release_block() {
    auto *b = reinterpret_cast<tpacket_block_desc *>(ring_ + size_t{cur_} * block_size_);
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    cur_ = (cur_ + 1) % block_count_;
    pkt_left_ = 0;
}

// Copies one packet of the ring into a pool slot; false when it is dropped instead.
bool PacketSocket::take(Frame &out, const uint8_t *pkt, uint64_t offset_ns) {
    const auto *h = reinterpret_cast<const tpacket3_hdr *>(pkt);
    if (h->tp_snaplen < h->tp_len || h->tp_snaplen > frame_size_) {
        too_long_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    if (free_.empty()) {
        pool_empty_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    const uint32_t slot = free_.back();
    free_.pop_back();
    uint8_t *dst = pool_.data() + size_t{slot} * frame_size_;
    std::memcpy(dst, pkt + h->tp_net, h->tp_snaplen);
    // The ring stamps CLOCK_REALTIME; the workers time from CLOCK_MONOTONIC.
    const uint64_t wall = uint64_t{h->tp_sec} * 1000000000u + h->tp_nsec;
    out = {dst, h->tp_snaplen, uint64_t{slot} * frame_size_,
           wall > offset_ns ? wall - offset_ns : clock_ns(CLOCK_MONOTONIC)};
    return true;
}

size_t PacketSocket::receive(Frame *out, size_t max, int timeout_ms) {
    const uint64_t offset_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
    size_t n = 0;
    bool waited = false;
    while (n < max) {
        if (pkt_left_ == 0) {
            auto *b = reinterpret_cast<tpacket_block_desc *>(ring_ + size_t{cur_} * block_size_);
            if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) {
                if (n || waited) break;
                pollfd p{fd_, POLLIN | POLLERR, 0};
                // A link going down leaves ENETDOWN pending: POLLERR until it is read, or
                // every later poll returns at once and the worker spins.
                if (poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLERR)) clear_error();
                waited = true;
                continue;
            }
            pkt_left_ = b->hdr.bh1.num_pkts;
            next_pkt_ = reinterpret_cast<const uint8_t *>(b) + b->hdr.bh1.offset_to_first_pkt;
            if (pkt_left_ == 0) {
                release_block();
                continue;
            }
        }
        const auto *h = reinterpret_cast<const tpacket3_hdr *>(next_pkt_);
        if (take(out[n], next_pkt_, offset_ns)) ++n;
        next_pkt_ += h->tp_next_offset;
        if (--pkt_left_ == 0) release_block();
    }
    return n;
}

void PacketSocket::recycle(const Frame *frames, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (free_.size() == pool_frames_) break;  // never more than the pool: no allocation
        free_.push_back(static_cast<uint32_t>(frames[i].addr / frame_size_));
    }
}

RingStats PacketSocket::stats() const {
    tpacket_stats_v3 st{};
    socklen_t len = sizeof(st);
    std::lock_guard lock(stats_mu_);
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
        kernel_.rx_dropped += st.tp_drops;
        kernel_.rx_ring_full += st.tp_freeze_q_cnt;
    }
    RingStats out = kernel_;
    out.fill_empty = pool_empty_.load(std::memory_order_relaxed);
    out.rx_invalid =
        too_long_.load(std::memory_order_relaxed) + socket_errors_.load(std::memory_order_relaxed);
    return out;
}

}  // namespace xk::packet
