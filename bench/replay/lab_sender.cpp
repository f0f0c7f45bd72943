#include "replay/lab_sender.hpp"

#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace xk::replay {
namespace {

std::runtime_error sys_error(const std::string &what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

class PacketSender : public LabSender {
  public:
    explicit PacketSender(const std::string &ifname) {
        // Protocol 0: this socket never receives.
        fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw sys_error("AF_PACKET socket");
        sockaddr_ll sll{};
        sll.sll_family = AF_PACKET;
        sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
        if (bind(fd_, reinterpret_cast<sockaddr *>(&sll), sizeof(sll)) != 0)
            throw sys_error("bind " + ifname);
        int one = 1;
        if (setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
            throw sys_error("PACKET_QDISC_BYPASS");
        int sndbuf = 8 << 20;
        setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
    }
    ~PacketSender() override { close(fd_); }

    size_t send(const FramePool &pool, size_t first, size_t n) override {
        constexpr size_t kMax = 64;
        iovec iov[kMax];
        mmsghdr msgs[kMax]{};
        n = n < kMax ? n : kMax;
        for (size_t i = 0; i < n; ++i) {
            const auto &f = pool[(first + i) % pool.size()];
            iov[i] = {const_cast<uint8_t *>(f.data()), f.size()};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int sent = sendmmsg(fd_, msgs, static_cast<unsigned>(n), 0);
        return sent > 0 ? static_cast<size_t>(sent) : 0;
    }

  private:
    int fd_ = -1;
};

class XdpSender : public LabSender {
  public:
    static constexpr uint32_t kFrames = 4096, kFrameSize = 2048, kRing = 2048;

    XdpSender(const std::string &ifname, uint32_t queue) {
        size_t size = size_t{kFrames} * kFrameSize;
        area_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area_ == MAP_FAILED) throw sys_error("mmap UMEM");
        xsk_umem_config ucfg{};
        ucfg.fill_size = kRing;
        ucfg.comp_size = kRing;
        ucfg.frame_size = kFrameSize;
        int err = xsk_umem__create(&umem_, area_, size, &fill_, &comp_, &ucfg);
        if (err) throw std::runtime_error("xsk_umem__create: " + std::string(strerror(-err)));
        xsk_socket_config scfg{};
        scfg.rx_size = 0;
        scfg.tx_size = kRing;
        scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // TX only: no program
        scfg.bind_flags = XDP_COPY;
        err = xsk_socket__create(&xsk_, ifname.c_str(), queue, umem_, nullptr, &tx_, &scfg);
        if (err) throw std::runtime_error("AF_XDP TX socket: " + std::string(strerror(-err)));
        for (uint32_t i = 0; i < kFrames; ++i) free_.push_back(uint64_t{i} * kFrameSize);
    }
    ~XdpSender() override {
        if (xsk_) xsk_socket__delete(xsk_);
        if (umem_) xsk_umem__delete(umem_);
        munmap(area_, size_t{kFrames} * kFrameSize);
    }

    size_t send(const FramePool &pool, size_t first, size_t n) override {
        reap();
        if (n > free_.size()) n = free_.size();
        uint32_t idx = 0;
        n = xsk_ring_prod__reserve(&tx_, static_cast<uint32_t>(n), &idx);
        for (size_t i = 0; i < n; ++i) {
            const auto &f = pool[(first + i) % pool.size()];
            uint64_t addr = free_.back();
            free_.pop_back();
            size_t len = f.size() < kFrameSize ? f.size() : kFrameSize;
            std::memcpy(xsk_umem__get_data(area_, addr), f.data(), len);
            xdp_desc *d = xsk_ring_prod__tx_desc(&tx_, idx + static_cast<uint32_t>(i));
            d->addr = addr;
            d->len = static_cast<uint32_t>(len);
        }
        if (n) xsk_ring_prod__submit(&tx_, static_cast<uint32_t>(n));
        // Copy mode transmits in the syscall: every batch needs the kick.
        sendto(xsk_socket__fd(xsk_), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
        return n;
    }
    void flush() override {
        for (int i = 0; i < 1000 && free_.size() < kFrames; ++i) {
            sendto(xsk_socket__fd(xsk_), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
            reap();
        }
    }

  private:
    void reap() {
        uint32_t idx = 0;
        uint32_t done = xsk_ring_cons__peek(&comp_, kRing, &idx);
        for (uint32_t i = 0; i < done; ++i)
            free_.push_back(*xsk_ring_cons__comp_addr(&comp_, idx + i));
        if (done) xsk_ring_cons__release(&comp_, done);
    }

    void *area_ = nullptr;
    xsk_umem *umem_ = nullptr;
    xsk_socket *xsk_ = nullptr;
    xsk_ring_prod fill_{}, tx_{};
    xsk_ring_cons comp_{};
    std::vector<uint64_t> free_;  // reserved to kFrames up front: no growth while sending
};

}  // namespace

std::unique_ptr<LabSender> open_packet_sender(const std::string &ifname) {
    return std::make_unique<PacketSender>(ifname);
}

std::unique_ptr<LabSender> open_xdp_sender(const std::string &ifname, uint32_t queue) {
    return std::make_unique<XdpSender>(ifname, queue);
}

void require_lab_veth(const std::string &ifname) {
    // The lab's namespaces are named ones (ip netns, /run/netns): ours must be one of them.
    struct stat self {};
    if (stat("/proc/self/ns/net", &self) != 0) throw sys_error("cannot tell which netns this is");
    bool named = false;
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator("/run/netns", ec)) {
        struct stat ns {};
        if (stat(e.path().c_str(), &ns) == 0 && ns.st_ino == self.st_ino &&
            ns.st_dev == self.st_dev)
            named = true;
    }
    if (!named)
        throw std::runtime_error(
            "refusing to send outside a lab network namespace: run it "
            "with scripts/lab.sh exec xk-client ...");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char *>(&info);
    bool ok = fd >= 0 && ioctl(fd, SIOCETHTOOL, &ifr) == 0 && std::strcmp(info.driver, "veth") == 0;
    if (fd >= 0) close(fd);
    if (!ok) throw std::runtime_error(ifname + " is not a veth: refusing to send");
}

Mac interface_mac(const std::string &ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    Mac m{};
    if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
        if (fd >= 0) close(fd);
        throw sys_error("MAC of " + ifname);
    }
    close(fd);
    std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
    return m;
}

}  // namespace xk::replay
