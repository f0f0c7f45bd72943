#include <net/if_arp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gate/gate.hpp"

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823  // linux/if_arp.h, which clashes with net/if.h
#endif

namespace xk::gate {

unsigned link_type(const std::string &ifname) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw GateError(std::string("socket: ") + std::strerror(errno));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
    int err = errno;
    close(fd);
    if (rc != 0) throw GateError(ifname + ": cannot read the link type: " + std::strerror(err));
    return ifr.ifr_hwaddr.sa_family;
}

LinkLayer link_layer_of(const std::string &ifname, unsigned arphrd) {
    switch (arphrd) {
        case ARPHRD_ETHER:
        case ARPHRD_LOOPBACK:
            return LinkLayer::ethernet;
        // No L2 header on receive: generic XDP's frame starts at the IP header.
        case ARPHRD_NONE:    // tun, WireGuard
        case ARPHRD_PPP:     // PPPoE and other ppp links
        case ARPHRD_RAWIP:   // raw-IP wwan modems
        case ARPHRD_TUNNEL:  // ipip
        case ARPHRD_TUNNEL6:
        case ARPHRD_SIT:
        case ARPHRD_IPGRE:
        case ARPHRD_IP6GRE:
            return LinkLayer::raw_ip;
        default:
            // Attaching a program that cannot read the frames would gate nothing.
            throw GateError(ifname + ": link type " + std::to_string(arphrd) +
                            " (ARPHRD) cannot be gated: xdpknock parses Ethernet and raw-IP "
                            "links only; refusing to attach");
    }
}

}  // namespace xk::gate
