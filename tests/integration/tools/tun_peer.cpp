// xk-tun-peer DEV [ARPHRD]: the far end of a tun link, for the raw-IP gate lab test. Creates tun
// DEV (no packet info), then reads commands on stdin and answers on stdout:
//   syn SRC DST DPORT SPORT   -> writes a TCP SYN, prints synack | rst | none (1.5 s)
//   udp SRC DST DPORT TEXT    -> writes a UDP datagram carrying TEXT, prints sent
// Frames come from the tests' packet builder with the Ethernet header cut off: a tun
// link carries bare IP packets, which is what the gate must parse. ARPHRD relabels the
// link's type (TUNSETLINK), to see the daemon refuse a type it cannot parse.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "common/packet_builder.hpp"

using namespace xk::test;

namespace {

bool is_v6(const std::string &a) {
    return a.find(':') != std::string::npos;
}

PacketBuilder ip(const std::string &src, const std::string &dst) {
    PacketBuilder b;
    b.eth();
    return is_v6(src) ? b.ipv6(src, dst) : b.ipv4(src, dst);
}

void put(int fd, const Bytes &frame) {
    // Drop the Ethernet header the builder always writes.
    if (write(fd, frame.data() + 14, frame.size() - 14) < 0) perror("tun write");
}

// TCP flags of a reply from dst:dport to src:sport, or -1.
int reply_flags(const uint8_t *p, size_t n, bool v6, uint16_t from_port, uint16_t to_port) {
    size_t l4;
    if (v6) {
        if (n < 60 || (p[0] >> 4) != 6 || p[6] != 6) return -1;
        l4 = 40;
    } else {
        if (n < 40 || (p[0] >> 4) != 4 || p[9] != 6) return -1;
        l4 = (p[0] & 0x0f) * 4u;
        if (n < l4 + 20) return -1;
    }
    uint16_t sport = uint16_t(p[l4] << 8 | p[l4 + 1]), dport = uint16_t(p[l4 + 2] << 8 | p[l4 + 3]);
    if (sport != from_port || dport != to_port) return -1;
    return p[l4 + 13];
}

std::string await_reply(int fd, bool v6, uint16_t dport, uint16_t sport) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    uint8_t buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return "none";
        pollfd pfd{fd, POLLIN, 0};
        if (poll(&pfd, 1, int(left.count())) <= 0) continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) continue;
        int flags = reply_flags(buf, size_t(n), v6, dport, sport);
        if (flags < 0) continue;
        if ((flags & kTcpSyn) && (flags & kTcpAck)) return "synack";
        if (flags & kTcpRst) return "rst";
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: xk-tun-peer DEV [ARPHRD]\n");
        return 2;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
        perror("tun");
        return 1;
    }
    if (argc == 3 && ioctl(fd, TUNSETLINK, std::stoul(argv[2])) != 0) {
        perror("TUNSETLINK");
        return 1;
    }
    std::cout << "ready" << std::endl;
    for (std::string line; std::getline(std::cin, line);) {
        std::istringstream in(line);
        std::string cmd, src, dst, text;
        unsigned dport = 0, sport = 0;
        in >> cmd >> src >> dst >> dport;
        try {
            if (cmd == "syn" && in >> sport) {
                put(fd, ip(src, dst).tcp(uint16_t(sport), uint16_t(dport), kTcpSyn).build());
                std::cout << await_reply(fd, is_v6(src), uint16_t(dport), uint16_t(sport))
                          << std::endl;
            } else if (cmd == "udp" && in >> text) {
                put(fd, ip(src, dst).udp(40000, uint16_t(dport)).payload(text).build());
                std::cout << "sent" << std::endl;
            } else if (cmd == "quit") {
                break;
            } else {
                std::cout << "error: " << line << std::endl;
            }
        } catch (const std::exception &e) {
            std::cout << "error: " << e.what() << std::endl;
        }
    }
    close(fd);
    return 0;
}
