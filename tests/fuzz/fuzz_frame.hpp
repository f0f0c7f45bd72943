// What the frame fuzzers share: the input format (a mode byte, then the frame) and a reading
// of the frame written apart from xdpknock/parse.h: the TCP segment the host's stack would
// take from it, if that is certain. The fuzzers hold the gate's parser to it, so a frame the
// two read differently (a SYN the gate never judged) is a finding, not an agreement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace xk::fuzz {

// First input byte, low bit: the frame starts at Ethernet, or (a tun/ppp link) at IP.
inline constexpr uint8_t kModeEthernet = 0;
inline constexpr uint8_t kModeRawIp = 1;

struct StackTcp {
    uint8_t saddr[16];  // IPv6, or IPv4-mapped as the gate keys it
    uint8_t daddr[16];
    uint16_t sport, dport;
    uint8_t flags;  // TCP header byte 13
};

namespace detail {

inline unsigned be16(const uint8_t *p) {
    return unsigned(p[0] << 8 | p[1]);
}

inline void mapV4(uint8_t *dst, const uint8_t *v4) {
    std::memset(dst, 0, 10);
    dst[10] = dst[11] = 0xff;
    std::memcpy(dst + 12, v4, 4);
}

// The TCP header at [l4, end) if the stack would accept it as one: whole, data offset sane.
inline std::optional<StackTcp> tcpAt(const uint8_t *f, size_t l4, size_t end) {
    if (l4 + 20 > end) return std::nullopt;
    const size_t doff = size_t(f[l4 + 12] >> 4) * 4;
    if (doff < 20 || l4 + doff > end) return std::nullopt;
    StackTcp t{};
    t.sport = uint16_t(be16(f + l4));
    t.dport = uint16_t(be16(f + l4 + 2));
    t.flags = f[l4 + 13];
    return t;
}

// IPv4 as ip_rcv checks it; fragments other than whole datagrams are left alone (Linux drops
// overlapping ones, and a first fragment is judged by what it holds).
inline std::optional<StackTcp> ipv4(const uint8_t *f, size_t off, size_t n) {
    if (off + 20 > n || f[off] >> 4 != 4) return std::nullopt;
    const size_t ihl = size_t(f[off] & 15) * 4, total = be16(f + off + 2);
    if (ihl < 20 || total < ihl || off + total > n) return std::nullopt;
    if ((be16(f + off + 6) & 0x3fff) != 0 || f[off + 9] != 6) return std::nullopt;
    auto t = tcpAt(f, off + ihl, off + total);
    if (t) {
        mapV4(t->saddr, f + off + 12);
        mapV4(t->daddr, f + off + 16);
    }
    return t;
}

// IPv6 with hop-by-hop (first only), routing, destination options and atomic fragment
// headers, any number of them; a jumbogram (payload length 0) cannot fit a frame.
inline std::optional<StackTcp> ipv6(const uint8_t *f, size_t off, size_t n) {
    if (off + 40 > n || f[off] >> 4 != 6) return std::nullopt;
    const size_t plen = be16(f + off + 4), end = off + 40 + plen;
    if (plen == 0 || end > n) return std::nullopt;
    unsigned nh = f[off + 6];
    size_t pos = off + 40;
    for (int i = 0; i < 32 && nh != 6; ++i) {
        if (pos + 8 > end) return std::nullopt;
        const size_t hdr = pos;
        if (nh == 44) {
            if (be16(f + hdr + 2) & 0xfff9) return std::nullopt;  // not an atomic fragment
            pos += 8;
        } else if ((nh == 0 && i == 0) || nh == 43 || nh == 60) {
            pos += (size_t(f[hdr + 1]) + 1) * 8;
        } else {
            return std::nullopt;
        }
        nh = f[hdr];
    }
    if (nh != 6) return std::nullopt;
    auto t = tcpAt(f, pos, end);
    if (t) {
        std::memcpy(t->saddr, f + off + 8, 16);
        std::memcpy(t->daddr, f + off + 24, 16);
    }
    return t;
}

}  // namespace detail

// The TCP segment the host's stack would read from the frame, or nothing when it would
// drop the frame or the reading is uncertain. VLAN tags: any number, as nested VLAN devices
// would unwrap them.
inline std::optional<StackTcp> stackTcp(const uint8_t *f, size_t n, bool rawIp) {
    size_t off = 0;
    unsigned type = 0;
    if (rawIp) {
        if (n < 1) return std::nullopt;
        type = f[0] >> 4 == 4 ? 0x0800 : f[0] >> 4 == 6 ? 0x86dd : 0;
    } else {
        if (n < 14) return std::nullopt;
        type = detail::be16(f + 12);
        off = 14;
        for (int i = 0; i < 8 && (type == 0x8100 || type == 0x88a8); ++i, off += 4) {
            if (off + 4 > n) return std::nullopt;
            type = detail::be16(f + off + 2);
        }
    }
    if (type == 0x0800) return detail::ipv4(f, off, n);
    if (type == 0x86dd) return detail::ipv6(f, off, n);
    return std::nullopt;
}

}  // namespace xk::fuzz
