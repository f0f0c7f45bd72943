// Fluent builder of Ethernet frames for data-plane tests and benchmarks:
//   PacketBuilder().eth().vlan(10).ipv4("10.0.0.1", "10.0.0.2").udp(1234, 62201)
//       .payload("knock").build();
// Layers are recorded in order and serialized by build(), which derives EtherTypes,
// protocol / next-header fields, lengths and checksums from the layers that follow.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace xk::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ipv4Addr = std::array<uint8_t, 4>;
using Ipv6Addr = std::array<uint8_t, 16>;

// Text forms ("02:00:00:00:00:01", "10.0.0.1", "2001:db8::1"); throw std::invalid_argument.
Mac parseMac(std::string_view text);
Ipv4Addr parseIpv4(std::string_view text);
Ipv6Addr parseIpv6(std::string_view text);

// RFC 1071 one's-complement sum, folded and inverted; `seed` carries a pseudo-header sum.
uint16_t inetChecksum(std::span<const uint8_t> bytes, uint32_t seed = 0);

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;

struct Ipv4Options {
    Bytes options{};          // raw option bytes, padded with EOL to a multiple of 4
    uint16_t fragOffset = 0;  // in bytes; a multiple of 8
    bool moreFragments = false;
    bool dontFragment = false;
    uint16_t id = 0;
    uint8_t ttl = 64;
};

struct Ipv6Options {
    uint8_t hopLimit = 64;
    uint8_t trafficClass = 0;
    uint32_t flowLabel = 0;
};

struct TcpOptions {
    uint32_t seq = 1;
    uint32_t ack = 0;
    uint16_t window = 65535;
    Bytes options{};  // raw option bytes, padded with EOL to a multiple of 4
};

class PacketBuilder {
  public:
    PacketBuilder &eth(std::string_view src = "02:00:00:00:00:01",
                       std::string_view dst = "02:00:00:00:00:02");
    PacketBuilder &eth(const Mac &src, const Mac &dst);
    // 802.1Q tag; a tag followed by another one is announced as 802.1ad (0x88a8).
    PacketBuilder &vlan(uint16_t id, uint8_t pcp = 0);
    // Sender MAC comes from the preceding eth(); target MAC is left zero (a request).
    PacketBuilder &arp(std::string_view senderIp = "10.0.0.1",
                       std::string_view targetIp = "10.0.0.2", uint16_t op = 1);

    PacketBuilder &ipv4(std::string_view src, std::string_view dst, Ipv4Options opts = {});
    PacketBuilder &ipv4(const Ipv4Addr &src, const Ipv4Addr &dst, Ipv4Options opts = {});
    PacketBuilder &ipv6(std::string_view src, std::string_view dst, Ipv6Options opts = {});
    PacketBuilder &ipv6(const Ipv6Addr &src, const Ipv6Addr &dst, Ipv6Options opts = {});
    // IPv6 extension headers, in call order; `length` is the whole header, a multiple of 8.
    PacketBuilder &hopByHop(size_t length = 8);
    PacketBuilder &destOpts(size_t length = 8);
    PacketBuilder &fragment6(uint16_t offset, bool more, uint32_t id = 1);

    PacketBuilder &udp(uint16_t sport, uint16_t dport);
    PacketBuilder &tcp(uint16_t sport, uint16_t dport, uint8_t flags, TcpOptions opts = {});
    // ICMPv4 after ipv4(), ICMPv6 after ipv6(); 4 zero bytes of rest-of-header follow.
    PacketBuilder &icmp(uint8_t type, uint8_t code = 0);
    // Bytes of an upper-layer protocol the builder does not model, e.g. the first 8 bytes
    // of a TCP header in a tiny first fragment: sets the preceding protocol field only.
    PacketBuilder &l4Raw(uint8_t proto, std::span<const uint8_t> bytes);

    PacketBuilder &payload(std::span<const uint8_t> bytes);
    PacketBuilder &payload(std::string_view text);
    PacketBuilder &payload(std::initializer_list<uint8_t> bytes);

    // Trailer bytes after the datagram (Ethernet minimum frame); not counted in lengths.
    PacketBuilder &padTo(size_t frameLength);
    // Cut the finished frame to n bytes, as a short capture would: lengths and checksums
    // still describe the whole packet.
    PacketBuilder &truncate(size_t n);

    Bytes build() const;

    struct Eth {
        Mac src, dst;
    };
    struct Vlan {
        uint16_t tci;
    };
    struct Arp {
        uint16_t op;
        Ipv4Addr sender, target;
    };
    struct Ipv4 {
        Ipv4Addr src, dst;
        Ipv4Options opts;
    };
    struct Ipv6 {
        Ipv6Addr src, dst;
        Ipv6Options opts;
    };
    struct Ipv6Ext {
        uint8_t type;  // IPPROTO_HOPOPTS, IPPROTO_DSTOPTS or IPPROTO_FRAGMENT
        size_t length;
        uint16_t fragOffset;
        bool more;
        uint32_t fragId;
    };
    struct Udp {
        uint16_t sport, dport;
    };
    struct Tcp {
        uint16_t sport, dport;
        uint8_t flags;
        TcpOptions opts;
    };
    struct Icmp {
        uint8_t type, code;
    };
    struct L4Raw {
        uint8_t proto;
        Bytes bytes;
    };
    struct Payload {
        Bytes bytes;
    };
    using Layer = std::variant<Eth, Vlan, Arp, Ipv4, Ipv6, Ipv6Ext, Udp, Tcp, Icmp, L4Raw, Payload>;

  private:
    std::vector<Layer> layers_;
    size_t padTo_ = 0;
    size_t truncate_ = SIZE_MAX;
};

}  // namespace xk::test
