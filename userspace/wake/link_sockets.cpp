#include "wake/link_sockets.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xk::wake {
namespace {

constexpr size_t kArpFrameSize = 42;

[[noreturn]] void fail(const std::string &ifname, const char *what) {
    throw WakeError(ifname + ": " + what + ": " + std::strerror(errno));
}

void set_int(int fd, int level, int name, int value) {
    setsockopt(fd, level, name, &value, sizeof(value));
}

int bound_socket(int domain, int type, int proto, const std::string &ifname) {
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0) return -1;
    // Wake packets and probes belong on the host's link, whatever the routing table says.
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size()) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Solicited-node multicast address of `target` (RFC 4291 2.7.1): where an NS goes.
in6_addr solicited_node(const policy::Address &target) {
    in6_addr a{};
    a.s6_addr[0] = 0xff;
    a.s6_addr[1] = 0x02;
    a.s6_addr[11] = 0x01;
    a.s6_addr[12] = 0xff;
    std::memcpy(a.s6_addr + 13, target.bytes.data() + 13, 3);
    return a;
}

}  // namespace

LinkSockets::LinkSockets(const std::string &ifname) : ifname_(ifname) {
    ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (ifindex_ == 0) fail(ifname, "no such interface");
    packet_fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (packet_fd_ < 0) fail(ifname, "packet socket");
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_ARP);
    ll.sll_ifindex = ifindex_;
    if (bind(packet_fd_, reinterpret_cast<sockaddr *>(&ll), sizeof(ll)) != 0) {
        fail(ifname, "bind packet socket");
    }
    // NDP is optional: an interface without IPv6 just has no IPv6 probes.
    icmp6_fd_ = bound_socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, ifname);
    if (icmp6_fd_ >= 0) {
        icmp6_filter filter;
        ICMP6_FILTER_SETBLOCKALL(&filter);
        ICMP6_FILTER_SETPASS(ND_NEIGHBOR_ADVERT, &filter);
        setsockopt(icmp6_fd_, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
        // RFC 4861: ND messages carry hop limit 255, or receivers drop them.
        set_int(icmp6_fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
        set_int(icmp6_fd_, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
        set_int(icmp6_fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex_);
        set_int(icmp6_fd_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    }
    udp4_fd_ = bound_socket(AF_INET, SOCK_DGRAM, 0, ifname);
    if (udp4_fd_ >= 0) set_int(udp4_fd_, SOL_SOCKET, SO_BROADCAST, 1);
    udp6_fd_ = bound_socket(AF_INET6, SOCK_DGRAM, 0, ifname);
    refresh_addresses();
}

LinkSockets::~LinkSockets() {
    for (int fd : {packet_fd_, icmp6_fd_, udp4_fd_, udp6_fd_}) {
        if (fd >= 0) close(fd);
    }
}

void LinkSockets::refresh_addresses() {
    ifreq req{};
    std::strncpy(req.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
    if (ioctl(packet_fd_, SIOCGIFHWADDR, &req) == 0) {
        std::memcpy(mac_.data(), req.ifr_hwaddr.sa_data, mac_.size());
    }
    ipv4_.reset();
    broadcast_.reset();
    ifaddrs *all = nullptr;
    if (getifaddrs(&all) != 0) return;
    for (ifaddrs *a = all; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || ifname_ != a->ifa_name) continue;
        ipv4_ = reinterpret_cast<sockaddr_in *>(a->ifa_addr)->sin_addr.s_addr;
        if ((a->ifa_flags & IFF_BROADCAST) && a->ifa_broadaddr) {
            broadcast_ = reinterpret_cast<sockaddr_in *>(a->ifa_broadaddr)->sin_addr.s_addr;
        }
        break;
    }
    freeifaddrs(all);
}

bool LinkSockets::send_magic(const policy::Host &host) {
    if (host.wake_type == policy::WakeType::link) {
        const WakeFrame frame = wake_frame(mac_, host.mac);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = ifindex_;
        to.sll_halen = 6;
        std::memset(to.sll_addr, 0xff, 6);
        return sendto(packet_fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to),
                      sizeof(to)) == static_cast<ssize_t>(frame.size());
    }
    const MagicPacket magic = magic_packet(host.mac);
    const bool broadcast = host.wake_type == policy::WakeType::network;
    if (broadcast || host.ipv4) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(host.wake_port);
        to.sin_addr.s_addr =
            broadcast ? broadcast_.value_or(INADDR_BROADCAST)
                      : *reinterpret_cast<const uint32_t *>(host.ipv4->bytes.data() + 12);
        return sendto(udp4_fd_, magic.data(), magic.size(), 0, reinterpret_cast<sockaddr *>(&to),
                      sizeof(to)) == static_cast<ssize_t>(magic.size());
    }
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(host.wake_port);
    to.sin6_scope_id = static_cast<uint32_t>(ifindex_);
    std::memcpy(to.sin6_addr.s6_addr, host.ipv6->bytes.data(), 16);
    return sendto(udp6_fd_, magic.data(), magic.size(), 0, reinterpret_cast<sockaddr *>(&to),
                  sizeof(to)) == static_cast<ssize_t>(magic.size());
}

void LinkSockets::send_probe(const policy::Host &host) {
    refresh_addresses();
    if (host.ipv4) {
        // Without an IPv4 of our own on the link this is an RFC 5227 probe (sender 0.0.0.0),
        // which hosts answer all the same.
        uint8_t f[kArpFrameSize] = {};
        std::memset(f, 0xff, 6);
        std::memcpy(f + 6, mac_.data(), 6);
        f[12] = 0x08, f[13] = 0x06;                  // ARP
        f[14] = 0x00, f[15] = 0x01;                  // Ethernet
        f[16] = 0x08, f[17] = 0x00;                  // IPv4
        f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;  // request
        std::memcpy(f + 22, mac_.data(), 6);
        const uint32_t self = ipv4_.value_or(0);
        std::memcpy(f + 28, &self, 4);
        std::memcpy(f + 38, host.ipv4->bytes.data() + 12, 4);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = ifindex_;
        to.sll_halen = 6;
        std::memset(to.sll_addr, 0xff, 6);
        sendto(packet_fd_, f, sizeof(f), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to));
    }
    if (host.ipv6 && icmp6_fd_ >= 0) {
        uint8_t ns[32] = {};
        ns[0] = ND_NEIGHBOR_SOLICIT;  // code, checksum (the kernel fills it), reserved: 0
        std::memcpy(ns + 8, host.ipv6->bytes.data(), 16);
        ns[24] = ND_OPT_SOURCE_LINKADDR;
        ns[25] = 1;  // 8 bytes
        std::memcpy(ns + 26, mac_.data(), 6);
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        to.sin6_addr = solicited_node(*host.ipv6);
        to.sin6_scope_id = static_cast<uint32_t>(ifindex_);
        sendto(icmp6_fd_, ns, sizeof(ns), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to));
    }
}

std::vector<policy::Address> LinkSockets::answers() {
    std::vector<policy::Address> out;
    uint8_t buf[256];
    for (;;) {
        sockaddr_ll from{};
        socklen_t len = sizeof(from);
        ssize_t n =
            recvfrom(packet_fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr *>(&from), &len);
        if (n < 0) break;
        // Any ARP the host sends proves it is up; our own requests are not its answers.
        if (from.sll_pkttype == PACKET_OUTGOING || n < static_cast<ssize_t>(kArpFrameSize))
            continue;
        if (buf[12] != 0x08 || buf[13] != 0x06 || buf[16] != 0x08 || buf[17] != 0x00) continue;
        uint32_t sender = 0;
        std::memcpy(&sender, buf + 28, 4);
        if (sender != 0) out.push_back(policy::Address::from_v4(sender));
    }
    for (;;) {
        if (icmp6_fd_ < 0) break;
        ssize_t n = recv(icmp6_fd_, buf, sizeof(buf), 0);
        if (n < 0) break;
        if (n < 24 || buf[0] != ND_NEIGHBOR_ADVERT) continue;
        out.push_back(policy::Address::from_bytes(buf + 8));
    }
    return out;
}

}  // namespace xk::wake
