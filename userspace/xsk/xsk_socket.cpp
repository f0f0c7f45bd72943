#include "xsk/xsk_socket.hpp"

#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include "xdpknock/maps.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

// bpf_xdp_adjust_meta wants a multiple of 4; the worker reads exactly this struct.
static_assert(sizeof(xk_knock_meta) == 16 && sizeof(xk_knock_meta) % 4 == 0);

namespace xk::xsk {

struct XskSocket::Rings {
    xsk_ring_prod fill{};
    xsk_ring_cons comp{};
    xsk_ring_cons rx{};
};

namespace {
// Never used (receive-only), but the kernel wants a completion ring: the smallest.
constexpr uint32_t kCompletionRing = 64;

std::string errstr(int err) {
    return std::strerror(err < 0 ? -err : err);
}

uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// 0 when the link cannot say (then frames are 4 KiB).
uint32_t link_mtu(const std::string &ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    uint32_t mtu = ioctl(fd, SIOCGIFMTU, &ifr) == 0 ? static_cast<uint32_t>(ifr.ifr_mtu) : 0;
    close(fd);
    return mtu;
}
}  // namespace

// A frame lands after XDP's headroom (where the knock's timestamp rides too); Ethernet and
// two VLAN tags around an MTU-sized packet must fit behind it.
uint32_t frame_size_for_mtu(uint32_t mtu) {
    constexpr uint32_t kSmall = 2048, kL2 = 14 + 2 * 4;
    return mtu != 0 && mtu + kL2 + XDP_PACKET_HEADROOM <= kSmall ? kSmall : 4096;
}

std::unique_ptr<XskSocket> XskSocket::open(const std::string &ifname, uint32_t queue,
                                           int xsks_map_fd, const XskOptions &options) {
    if (!std::has_single_bit(options.frames) || options.frames < 64)
        throw XskError("umem_frames " + std::to_string(options.frames) +
                       ": must be a power of two, at least 64");
    std::unique_ptr<XskSocket> s(new XskSocket());
    s->queue_ = queue;
    s->rings_ = std::make_unique<Rings>();
    s->frame_size_ = options.frame_size ? options.frame_size : frame_size_for_mtu(link_mtu(ifname));
    s->spin_ns_ = uint64_t{options.idle_spin_us} * 1000;
    s->area_size_ = size_t{options.frames} * s->frame_size_;
    s->area_ =
        mmap(nullptr, s->area_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->area_ == MAP_FAILED) {
        s->area_ = nullptr;
        throw XskError("cannot map UMEM: " + errstr(errno));
    }
    s->busy_poll_ = options.busy_poll;

    // Every frame can wait in the fill ring, and every one can sit in the rx ring.
    const uint32_t ring =
        options.ring_size ? std::min(options.ring_size, options.frames) : options.frames;
    xsk_umem_config ucfg{};
    ucfg.fill_size = ring;
    ucfg.comp_size = kCompletionRing;
    ucfg.frame_size = s->frame_size_;
    ucfg.frame_headroom = 0;
    int err = xsk_umem__create(&s->umem_, s->area_, s->area_size_, &s->rings_->fill,
                               &s->rings_->comp, &ucfg);
    if (err) throw XskError("cannot create UMEM: " + errstr(err));

    xsk_socket_config scfg{};
    scfg.rx_size = ring;
    scfg.tx_size = 0;
    // Our program and XSKMAP do the steering; libxdp must not load its own.
    scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
    scfg.bind_flags =
        XDP_USE_NEED_WAKEUP;  // no COPY/ZEROCOPY: the kernel picks zero-copy if it can
    // A socket just closed on this queue (a restart) frees its pool from a kernel work
    // item: EBUSY for a moment, so retry for up to 2 s.
    for (int tries = 0;; ++tries) {
        err = xsk_socket__create(&s->socket_, ifname.c_str(), queue, s->umem_, &s->rings_->rx,
                                 nullptr, &scfg);
        if (err != -EBUSY || tries == 40) break;
        usleep(50000);
    }
    if (err) {
        throw XskError(ifname + " queue " + std::to_string(queue) +
                       ": cannot bind AF_XDP socket: " + errstr(err));
    }
    if (options.busy_poll) s->enable_busy_poll();
    err = xsk_socket__update_xskmap(s->socket_, xsks_map_fd);
    if (err) throw XskError("cannot register AF_XDP socket in xsks: " + errstr(err));
    s->ring_frames_ = ring;
    s->refill(ring);
    return s;
}

XskSocket::~XskSocket() {
    if (socket_) xsk_socket__delete(socket_);
    if (umem_) xsk_umem__delete(umem_);
    if (area_) munmap(area_, area_size_);
}

// Best effort: drivers without NAPI busy poll just behave like a non-blocking socket.
void XskSocket::enable_busy_poll() {
    int fd = xsk_socket__fd(socket_);
    int one = 1, usecs = 20, budget = 64;
    if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
        setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof(usecs)) ||
        setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget))) {
        busy_poll_error_ = errno;
    }
}

// Initial fill: frames 0..n-1. Later refills recycle the addresses just released.
void XskSocket::refill(uint32_t n) {
    uint32_t idx = 0;
    if (xsk_ring_prod__reserve(&rings_->fill, n, &idx) != n) return;
    for (uint32_t i = 0; i < n; ++i) {
        *xsk_ring_prod__fill_addr(&rings_->fill, idx + i) = uint64_t{i} * frame_size_;
    }
    xsk_ring_prod__submit(&rings_->fill, n);
}

uint32_t XskSocket::peek(size_t max, uint32_t &idx) {
    return xsk_ring_cons__peek(&rings_->rx, static_cast<uint32_t>(max), &idx);
}

// The ring was empty: busy poll drives the queue; else watch the ring for idle_spin_us after
// the last frame (a knock right behind it then skips the scheduler's wake-up), then sleep.
// Spinning is bounded to idle_spin_us per millisecond: where the ring empties between the
// batches of a flood, an unbounded spin became a busy poll that spent the worker's share of
// a CPU it shares on nothing (measured: under a flood, a third of the knocks lost).
uint32_t XskSocket::wait(size_t max, uint32_t &idx, int timeout_ms) {
    if (busy_poll_) {
        // A syscall on the socket is what drives the kernel's busy poll of the queue.
        recvfrom(xsk_socket__fd(socket_), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
        return peek(max, idx);
    }
    if (uint32_t n = spin(max, idx)) return n;
    pollfd p{xsk_socket__fd(socket_), POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return 0;
    return peek(max, idx);
}

uint32_t XskSocket::spin(size_t max, uint32_t &idx) {
    constexpr uint64_t kWindowNs = 1000000;
    uint64_t now = monotonic_ns();
    if (spin_ns_ == 0 || now - last_rx_ns_ >= spin_ns_) return 0;
    if (now - window_start_ns_ >= kWindowNs) {
        window_start_ns_ = now;
        spun_ns_ = 0;
    }
    const uint64_t start = now;
    const uint64_t until =
        std::min(last_rx_ns_ + spin_ns_, now + (spin_ns_ - std::min(spun_ns_, spin_ns_)));
    uint32_t n = 0;
    for (; now < until; now = monotonic_ns()) {
        if ((n = peek(max, idx))) break;
        cpu_relax();
    }
    spun_ns_ += now - start;
    return n;
}

size_t XskSocket::receive(Frame *out, size_t max, int timeout_ms) {
    uint32_t idx = 0;
    size_t n = peek(max, idx);
    if (n == 0) n = wait(max, idx, timeout_ms);
    if (n == 0) return 0;
    for (size_t i = 0; i < n; ++i) {
        const xdp_desc *d = xsk_ring_cons__rx_desc(&rings_->rx, idx + static_cast<uint32_t>(i));
        out[i].addr = xsk_umem__extract_addr(d->addr);
        out[i].data = static_cast<const uint8_t *>(xsk_umem__get_data(area_, d->addr));
        out[i].len = d->len;
        out[i].rx_ns = rx_ns(out[i]);
    }
    xsk_ring_cons__release(&rings_->rx, static_cast<uint32_t>(n));
    if (spin_ns_) last_rx_ns_ = monotonic_ns();
    return n;
}

void XskSocket::recycle(const Frame *frames, size_t n) {
    uint64_t addrs[64];
    while (n) {
        size_t k = n < 64 ? n : 64;
        for (size_t i = 0; i < k; ++i) addrs[i] = frames[i].addr;
        recycle(addrs, k);
        frames += k;
        n -= k;
    }
}

// XDP stamps only some uses of a frame (XK_STAMPS_PER_TICK), and the kernel copies no
// metadata for an unstamped one: a stamp left in the headroom would time a later unstamped
// knock in this frame from an earlier packet. So a frame goes back without one.
void XskSocket::forget_stamp(uint64_t addr) {
    if (addr % frame_size_ < sizeof(xk_knock_meta)) return;  // no headroom: nothing stamped
    auto *meta = static_cast<uint8_t *>(xsk_umem__get_data(area_, addr)) - sizeof(xk_knock_meta);
    uint32_t magic;
    std::memcpy(&magic, meta + offsetof(xk_knock_meta, magic), sizeof(magic));
    if (magic != XK_KNOCK_META_MAGIC) return;  // read first: most frames are clean under a flood
    magic = 0;
    std::memcpy(meta + offsetof(xk_knock_meta, magic), &magic, sizeof(magic));
}

void XskSocket::recycle(const uint64_t *addrs, size_t n) {
    if (n == 0) return;
    for (size_t i = 0; i < n; ++i) forget_stamp(addrs[i]);
    uint32_t idx = 0;
    // The fill ring has room for every frame we hold: it had them before.
    while (xsk_ring_prod__reserve(&rings_->fill, static_cast<uint32_t>(n), &idx) != n) {
    }
    for (size_t i = 0; i < n; ++i) {
        *xsk_ring_prod__fill_addr(&rings_->fill, idx + static_cast<uint32_t>(i)) = addrs[i];
    }
    xsk_ring_prod__submit(&rings_->fill, static_cast<uint32_t>(n));
    if (xsk_ring_prod__needs_wakeup(&rings_->fill)) {
        recvfrom(xsk_socket__fd(socket_), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
}

uint64_t XskSocket::rx_ns(const Frame &f) {
    // The kernel copies XDP metadata right in front of the packet, inside the frame's
    // headroom (XDP_PACKET_HEADROOM), so reading before data stays within UMEM.
    xk_knock_meta m;
    std::memcpy(&m, f.data - sizeof(m), sizeof(m));
    return m.magic == XK_KNOCK_META_MAGIC ? m.rx_ns : 0;
}

int XskSocket::fd() const {
    return xsk_socket__fd(socket_);
}

RingStats XskSocket::stats() const {
    xdp_statistics st{};
    socklen_t len = sizeof(st);
    RingStats out;
    if (getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
        out.rx_dropped = st.rx_dropped;
        out.rx_ring_full = st.rx_ring_full;
        out.fill_empty = st.rx_fill_ring_empty_descs;
        out.rx_invalid = st.rx_invalid_descs;
    }
    return out;
}

// RX-only and combined channels are disjoint kinds (ethtool's ETHTOOL_GCHANNELS), and each
// brings its own rx queue: the queues are their sum. Taking the larger left the others'
// knocks with no socket.
uint32_t rx_queues_from_channels(uint32_t rx_only, uint32_t combined) {
    return std::max(rx_only + combined, 1u);
}

uint32_t rx_queue_count(const std::string &ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 1;
    ethtool_channels ch{};
    ch.cmd = ETHTOOL_GCHANNELS;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char *>(&ch);
    uint32_t n = 1;
    if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
        n = rx_queues_from_channels(ch.rx_count, ch.combined_count);
    close(fd);
    return n;
}

}  // namespace xk::xsk
