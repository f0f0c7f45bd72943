// libFuzzer target: xdpknock/parse.h, the frame parser the XDP gate and the AF_XDP workers
// share, in userspace. ASan sees every read (libFuzzer hands over an exactly sized buffer);
// on each input the offsets it returns must lie in the frame, the fields must be the bytes
// there (a UDP, TCP or ICMP echo payload where its header says), and a TCP segment the host's stack
// would take (fuzz_frame.hpp) must be read as the same segment or fall in a class the gate drops:
// never one it passes unjudged.
#include <linux/in.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_frame.hpp"
#include "xdpknock/parse.h"

namespace {

[[noreturn]] void violated(const char *what, int result) {
    std::fprintf(stderr, "frame_parse_fuzz: %s (parse result %d)\n", what, result);
    std::abort();
}

// Where IP starts, by Ethernet's own rules (the parser returns no such offset).
size_t l3Offset(const uint8_t *f, size_t n, bool rawIp) {
    if (rawIp) return 0;
    size_t off = 14;
    while (off + 4 <= n && off < 14 + 4 * XK_MAX_VLAN) {
        const unsigned type = unsigned(f[off - 2] << 8 | f[off - 1]);
        if (type != 0x8100 && type != 0x88a8) break;
        off += 4;
    }
    return off;
}

// Where L4 starts, walked apart from parse.h's offsets: IPv4 after its IHL, IPv6 after its
// extension chain (parse.h said OK, so the headers are there).
size_t l4Offset(const uint8_t *f, size_t n, size_t l3, int family) {
    if (family == 4) return l3 + size_t(f[l3] & 0x0f) * 4;
    uint8_t nh = f[l3 + 6];
    size_t off = l3 + 40;
    for (int i = 0; i < XK_MAX_IPV6_EXT && off + 8 <= n && xk_is_ipv6_ext(nh); ++i) {
        const size_t len = nh == IPPROTO_FRAGMENT ? 8 : (size_t(f[off + 1]) + 1) * 8;
        nh = f[off];
        off += len;
    }
    return off;
}

void checkOk(const uint8_t *f, size_t n, bool rawIp, const xk_pkt &p) {
    if (p.family != 4 && p.family != 6) violated("family neither 4 nor 6", XK_PARSE_OK);
    if (p.family == 4 ? !xk_is_v4_mapped(p.saddr) : xk_is_v4_mapped(p.saddr))
        violated("source address form does not match the family", XK_PARSE_OK);
    const size_t l3 = l3Offset(f, n, rawIp);
    if (p.family == 4 && (l3 + 20 > n || std::memcmp(p.saddr + 12, f + l3 + 12, 4) != 0 ||
                          std::memcmp(p.daddr + 12, f + l3 + 16, 4) != 0))
        violated("IPv4 addresses are not the header's", XK_PARSE_OK);
    if (p.family == 6 && (l3 + 40 > n || std::memcmp(p.saddr, f + l3 + 8, 16) != 0 ||
                          std::memcmp(p.daddr, f + l3 + 24, 16) != 0))
        violated("IPv6 addresses are not the header's", XK_PARSE_OK);
    if (p.l4proto == IPPROTO_UDP) {
        if (p.payload_off < l3 + 28 || p.payload_off > n || p.payload_len > n - p.payload_off)
            violated("UDP payload outside the frame", XK_PARSE_OK);
        const uint8_t *udp = f + p.payload_off - 8;
        if (p.sport != (udp[0] << 8 | udp[1]) || p.dport != (udp[2] << 8 | udp[3]))
            violated("UDP ports are not the bytes before the payload", XK_PARSE_OK);
        const unsigned ulen = unsigned(udp[4] << 8 | udp[5]);
        const unsigned claimed = ulen >= 8 ? ulen - 8 : 0;
        if (p.payload_len > claimed)
            violated("UDP payload longer than the UDP length", XK_PARSE_OK);
        if (!p.partial && p.payload_len != claimed)
            violated("whole datagram whose payload is not the UDP length", XK_PARSE_OK);
    } else if (p.l4proto == IPPROTO_TCP) {
        // tcpraw knocks: the payload starts after the data offset, inside the frame.
        if (p.payload_len == 0) return;
        const size_t tcp = l4Offset(f, n, l3, p.family);
        if (p.payload_off > n || p.payload_len > n - p.payload_off || tcp + 13 > n ||
            p.payload_off != tcp + size_t(f[tcp + 12] >> 4) * 4 || p.payload_off - tcp < 20)
            violated("TCP payload not after the header's data offset", XK_PARSE_OK);
    } else if (p.l4proto == IPPROTO_ICMP || p.l4proto == IPPROTO_ICMPV6) {
        if ((p.l4proto == IPPROTO_ICMP) != (p.family == 4))
            violated("ICMP of the other family", XK_PARSE_OK);
        if (p.payload_off < l3 + 28 || p.payload_off > n || p.payload_len > n - p.payload_off)
            violated("ICMP payload outside the frame", XK_PARSE_OK);
        const uint8_t type = f[p.payload_off - 8];
        if (p.family == 4 ? type != 0 && type != 8 : type != 128 && type != 129)
            violated("an ICMP payload that is not an echo's", XK_PARSE_OK);
        if (p.sport != 0 || p.dport != 0) violated("ICMP with ports", XK_PARSE_OK);
    } else {
        violated("OK without TCP, UDP or an ICMP echo", XK_PARSE_OK);
    }
}

// The stack would take a TCP segment: the gate must judge that very segment, or drop.
void checkAgainstStack(const uint8_t *f, size_t n, bool rawIp, int r, const xk_pkt &p) {
    const auto st = xk::fuzz::stackTcp(f, n, rawIp);
    if (!st) return;
    switch (r) {
        case XK_PARSE_OK:
            if (p.l4proto != IPPROTO_TCP || p.dport != st->dport || p.sport != st->sport ||
                p.tcp_flags != st->flags || std::memcmp(p.saddr, st->saddr, 16) != 0 ||
                std::memcmp(p.daddr, st->daddr, 16) != 0)
                violated("read another segment than the stack would", r);
            return;
        case XK_PARSE_FRAG_SHORT:
        case XK_PARSE_EXT_DEEP:
        case XK_PARSE_VLAN_DEEP:
        case XK_PARSE_MAPPED:
            return;  // the gate drops these
        default:
            violated("a TCP segment the stack takes would pass unjudged", r);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const bool rawIp = (data[0] & 1) == xk::fuzz::kModeRawIp;
    const uint8_t *f = data + 1;
    const size_t n = size - 1;
    xk_pkt p;
    std::memset(&p, 0xee, sizeof(p));
    const int r = xk_parse_frame(f, f + n, &p, rawIp);
    if (r < XK_PARSE_OK || r > XK_PARSE_MAPPED) violated("result outside the enum", r);
    if (r == XK_PARSE_OK) checkOk(f, n, rawIp, p);
    checkAgainstStack(f, n, rawIp, r, p);
    return 0;
}
