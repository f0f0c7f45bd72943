// xk_parse_frame compiled for userspace (as the AF_XDP workers and pcap replay use it).
#include <gtest/gtest.h>

#include <cstring>

#include "gate_frames.hpp"
#include "xdpknock/parse.h"

namespace xk::test {
namespace {

struct Parsed {
    int result;
    xk_pkt pkt;
};

Parsed parse(const Bytes &frame) {
    Parsed p{};
    std::memset(&p.pkt, 0xee, sizeof(p.pkt));  // fields the parser leaves alone stand out
    p.result = xk_parse_frame(frame.data(), frame.data() + frame.size(), &p.pkt, 0);
    return p;
}

Ipv6Addr addrOf(const uint8_t (&a)[16]) {
    Ipv6Addr out{};
    std::memcpy(out.data(), a, out.size());
    return out;
}

PacketBuilder v4(std::string_view src = kV4Stranger, Ipv4Options o = {}) {
    return PacketBuilder().eth().ipv4(src, kV4Gateway, std::move(o));
}
PacketBuilder v6(std::string_view src = kV6Stranger) {
    return PacketBuilder().eth().ipv6(src, kV6Gateway);
}

TEST(ParseCatalog, EveryGateFrameGetsItsParseResult) {
    for (const GateCase &c : gateCases()) EXPECT_EQ(parse(c.frame).result, c.parse) << c.name;
}

// The same parser for a raw-IP link: the frame starts at the IP header.
TEST(ParseCatalog, EveryRawIpFrameGetsItsParseResult) {
    ASSERT_GT(rawIpCases().size(), 60u);
    for (const GateCase &c : rawIpCases()) {
        xk_pkt pkt{};
        EXPECT_EQ(xk_parse_frame(c.frame.data(), c.frame.data() + c.frame.size(), &pkt, 1), c.parse)
            << c.name;
    }
}

TEST(ParseCatalog, RawIpKnockFieldsMatchTheEthernetOnes) {
    const GateCase &eth = gateCase("knock_v6");
    xk_pkt a{}, b{};
    ASSERT_EQ(xk_parse_frame(eth.frame.data(), eth.frame.data() + eth.frame.size(), &a, 0),
              XK_PARSE_OK);
    ASSERT_EQ(xk_parse_frame(eth.frame.data() + 14, eth.frame.data() + eth.frame.size(), &b, 1),
              XK_PARSE_OK);
    EXPECT_EQ(a.family, b.family);
    EXPECT_EQ(0, std::memcmp(a.saddr, b.saddr, 16));
    EXPECT_EQ(a.dport, b.dport);
    EXPECT_EQ(a.payload_len, b.payload_len);
    EXPECT_EQ(a.payload_off, b.payload_off + 14);
}

TEST(ParseUdp, Ipv4KnockFields) {
    Parsed p = parse(v4().udp(40000, kKnockPort).payload("knock").build());
    ASSERT_EQ(p.result, XK_PARSE_OK);
    EXPECT_EQ(p.pkt.family, 4);
    EXPECT_EQ(p.pkt.l4proto, IPPROTO_UDP);
    EXPECT_EQ(p.pkt.sport, 40000);
    EXPECT_EQ(p.pkt.dport, kKnockPort);
    EXPECT_EQ(p.pkt.tcp_flags, 0);
    EXPECT_EQ(addrOf(p.pkt.saddr), gateAddr(kV4Stranger));  // ::ffff:192.0.2.13
    EXPECT_EQ(addrOf(p.pkt.daddr), gateAddr(kV4Gateway));
    EXPECT_EQ(p.pkt.payload_off, 14u + 20 + 8);
    EXPECT_EQ(p.pkt.payload_len, 5u);
}

TEST(ParseUdp, Ipv6KnockFields) {
    Parsed p = parse(v6().udp(40000, kKnockPort).payload("knock!").build());
    ASSERT_EQ(p.result, XK_PARSE_OK);
    EXPECT_EQ(p.pkt.family, 6);
    EXPECT_EQ(p.pkt.l4proto, IPPROTO_UDP);
    EXPECT_EQ(addrOf(p.pkt.saddr), parseIpv6(kV6Stranger));
    EXPECT_EQ(addrOf(p.pkt.daddr), parseIpv6(kV6Gateway));
    EXPECT_EQ(p.pkt.payload_off, 14u + 40 + 8);
    EXPECT_EQ(p.pkt.payload_len, 6u);
}

TEST(ParseUdp, PayloadOffsetFollowsVlanTagsAndOptions) {
    struct {
        const char *what;
        Bytes frame;
        uint32_t off;
    } cases[] = {
        {"one tag",
         PacketBuilder().eth().vlan(7).ipv4(kV4Stranger, kV4Gateway).udp(1, 2).payload("x").build(),
         46},
        {"two tags",
         PacketBuilder()
             .eth()
             .vlan(7)
             .vlan(8)
             .ipv4(kV4Stranger, kV4Gateway)
             .udp(1, 2)
             .payload("x")
             .build(),
         50},
        {"8 option bytes", v4(kV4Stranger, {.options = Bytes(8, 1)}).udp(1, 2).payload("x").build(),
         50},
        {"40 option bytes",
         v4(kV4Stranger, {.options = Bytes(40, 1)}).udp(1, 2).payload("x").build(), 82},
        {"hbh 16 + dstopts 8", v6().hopByHop(16).destOpts().udp(1, 2).payload("x").build(),
         14 + 40 + 24 + 8},
    };
    for (const auto &c : cases) {
        Parsed p = parse(c.frame);
        ASSERT_EQ(p.result, XK_PARSE_OK) << c.what;
        EXPECT_EQ(p.pkt.payload_off, c.off) << c.what;
        EXPECT_EQ(p.pkt.payload_len, 1u) << c.what;
        EXPECT_EQ(p.pkt.dport, 2) << c.what;
    }
}

TEST(ParseUdp, PayloadLenIsBoundedByUdpLengthAndByTheFrame) {
    // Ethernet padding after a short datagram is not payload.
    Parsed padded = parse(v4().udp(1, 2).payload("k").padTo(60).build());
    ASSERT_EQ(padded.result, XK_PARSE_OK);
    EXPECT_EQ(padded.pkt.payload_len, 1u);
    // A capture cut inside the payload yields what is there.
    Parsed cut = parse(v4().udp(1, 2).payload(Bytes(100, 'a')).truncate(42 + 10).build());
    ASSERT_EQ(cut.result, XK_PARSE_OK);
    EXPECT_EQ(cut.pkt.payload_len, 10u);
    // A UDP length below the header size claims no payload.
    Bytes lying = v4().udp(1, 2).payload("abc").build();
    lying[38] = 0;
    lying[39] = 4;
    Parsed bad = parse(lying);
    ASSERT_EQ(bad.result, XK_PARSE_OK);
    EXPECT_EQ(bad.pkt.payload_len, 0u);
}

TEST(ParseTcp, SynFields) {
    Parsed p = parse(v4(kV4AuthSsh).tcp(40000, kSshPort, kTcpSyn).build());
    ASSERT_EQ(p.result, XK_PARSE_OK);
    EXPECT_EQ(p.pkt.family, 4);
    EXPECT_EQ(p.pkt.l4proto, IPPROTO_TCP);
    EXPECT_EQ(p.pkt.sport, 40000);
    EXPECT_EQ(p.pkt.dport, kSshPort);
    EXPECT_EQ(p.pkt.tcp_flags, XK_TCP_SYN);
    EXPECT_EQ(addrOf(p.pkt.saddr), gateAddr(kV4AuthSsh));
    // No payload: it would start right after the 20-byte header.
    EXPECT_EQ(p.pkt.payload_off, 14u + 20 + 20);
    EXPECT_EQ(p.pkt.payload_len, 0u);
}

// fwknop -P tcpraw: a SYN carrying the knock. The payload starts after the data offset
// (options included) and ends with the IP packet, not the frame's padding.
TEST(ParseTcp, PayloadAfterTheDataOffset) {
    Parsed p = parse(v4().tcp(1, 62201, kTcpSyn).payload("knock").padTo(80).build());
    ASSERT_EQ(p.result, XK_PARSE_OK);
    EXPECT_EQ(p.pkt.payload_off, 14u + 20 + 20);
    EXPECT_EQ(p.pkt.payload_len, 5u);
    EXPECT_EQ(p.pkt.partial, 0);
    Bytes withOptions = v6().tcp(1, 62201, kTcpSyn).payload("knock").build();
    withOptions[14 + 40 + 12] = 0x60;  // data offset 24: the first 4 payload bytes are options
    Parsed o = parse(withOptions);
    ASSERT_EQ(o.result, XK_PARSE_OK);
    EXPECT_EQ(o.pkt.payload_off, 14u + 40 + 24);
    EXPECT_EQ(o.pkt.payload_len, 1u);
    Bytes tiny = v4().tcp(1, 62201, kTcpSyn).payload("knock").build();
    tiny[14 + 20 + 12] = 0x40;  // data offset 16: below the header's own size
    EXPECT_EQ(parse(tiny).pkt.payload_len, 0u);
    tiny[14 + 20 + 12] = 0xf0;  // 60: past the packet
    EXPECT_EQ(parse(tiny).pkt.payload_len, 0u);
}

// fwknop -P icmp: the knock in an echo (a reply by default, a request with --icmp-type 8).
TEST(ParseIcmp, EchoesCarryAPayload) {
    for (uint8_t type : {0, 8}) {
        Parsed p = parse(v4().icmp(type).payload("knock").build());
        ASSERT_EQ(p.result, XK_PARSE_OK) << int(type);
        EXPECT_EQ(p.pkt.l4proto, IPPROTO_ICMP);
        EXPECT_EQ(p.pkt.dport, 0);
        EXPECT_EQ(p.pkt.payload_off, 14u + 20 + 8);
        EXPECT_EQ(p.pkt.payload_len, 5u);
    }
    for (uint8_t type : {128, 129}) {
        Parsed p = parse(v6().icmp(type).payload("knock").build());
        ASSERT_EQ(p.result, XK_PARSE_OK) << int(type);
        EXPECT_EQ(p.pkt.l4proto, IPPROTO_ICMPV6);
        EXPECT_EQ(p.pkt.payload_off, 14u + 40 + 8);
        EXPECT_EQ(p.pkt.payload_len, 5u);
    }
}

TEST(ParseTcp, FlagsByteIsCopiedWhole) {
    const uint8_t flags = kTcpSyn | kTcpAck | kTcpPsh | kTcpFin;
    Parsed p = parse(v6().tcp(1, 443, flags).build());
    ASSERT_EQ(p.result, XK_PARSE_OK);
    EXPECT_EQ(p.pkt.tcp_flags, flags);
    EXPECT_EQ(p.pkt.family, 6);
}

TEST(ParseIpv6, ExtensionChainUpToTheLimit) {
    Parsed four = parse(
        v6().hopByHop().destOpts().fragment6(0, false).destOpts(24).tcp(1, 22, kTcpSyn).build());
    ASSERT_EQ(four.result, XK_PARSE_OK);
    EXPECT_EQ(four.pkt.dport, 22);
    EXPECT_EQ(
        parse(
            v6().hopByHop().destOpts().destOpts().destOpts().destOpts().tcp(1, 22, kTcpSyn).build())
            .result,
        XK_PARSE_EXT_DEEP);
    // Five headers with an upper layer that is not TCP/UDP is still too deep.
    EXPECT_EQ(parse(v6().hopByHop().destOpts().destOpts().destOpts().destOpts().build()).result,
              XK_PARSE_EXT_DEEP);
}

TEST(ParseErrors, EachResult) {
    struct {
        const char *what;
        Bytes frame;
        int result;
    } cases[] = {
        {"empty", {}, XK_PARSE_TRUNCATED},
        {"13 bytes", PacketBuilder().eth().truncate(13).build(), XK_PARSE_TRUNCATED},
        {"vlan tag cut",
         PacketBuilder().eth().vlan(1).ipv4(kV4Stranger, kV4Gateway).truncate(17).build(),
         XK_PARSE_TRUNCATED},
        {"three tags: deeper than we parse, refused rather than passed unseen",
         PacketBuilder()
             .eth()
             .vlan(1)
             .vlan(2)
             .vlan(3)
             .ipv4(kV4Stranger, kV4Gateway)
             .udp(1, 2)
             .build(),
         XK_PARSE_VLAN_DEEP},
        {"arp", PacketBuilder().eth().arp().build(), XK_PARSE_NOT_IP},
        {"unknown ethertype", PacketBuilder().eth().payload("xyz").build(), XK_PARSE_NOT_IP},
        {"ipv4 cut", v4().udp(1, 2).truncate(14 + 19).build(), XK_PARSE_TRUNCATED},
        {"ipv4 options cut",
         v4(kV4Stranger, {.options = Bytes(4, 1)}).udp(1, 2).truncate(14 + 23).build(),
         XK_PARSE_TRUNCATED},
        {"ipv6 cut", v6().udp(1, 2).truncate(14 + 39).build(), XK_PARSE_TRUNCATED},
        {"ipv6 ext cut", v6().destOpts().udp(1, 2).truncate(14 + 40 + 7).build(),
         XK_PARSE_TRUNCATED},
        {"udp cut", v4().udp(1, 2).truncate(14 + 20 + 7).build(), XK_PARSE_TRUNCATED},
        {"tcp cut", v6().tcp(1, 2, kTcpSyn).truncate(14 + 40 + 19).build(), XK_PARSE_TRUNCATED},
        {"icmp unreachable", v4().icmp(3).build(), XK_PARSE_NOT_L4},
        {"icmpv6 neighbor solicitation", v6().icmp(135).build(), XK_PARSE_NOT_L4},
        {"icmp echo cut", v4().icmp(8).truncate(14 + 20 + 7).build(), XK_PARSE_NOT_L4},
        {"ipv6 no next header", v6().build(), XK_PARSE_NOT_L4},
        {"v4 middle fragment",  // offset 8 would be the RFC 1858 overlap case: refused
         v4(kV4Stranger, {.fragOffset = 16, .moreFragments = true})
             .l4Raw(IPPROTO_TCP, Bytes(8, 0))
             .build(),
         XK_PARSE_FRAGMENT},
        {"v4 last fragment",
         v4(kV4Stranger, {.fragOffset = 1480}).l4Raw(IPPROTO_UDP, Bytes(8, 0)).build(),
         XK_PARSE_FRAGMENT},
        {"v6 later fragment", v6().fragment6(16, true).l4Raw(IPPROTO_UDP, Bytes(8, 0)).build(),
         XK_PARSE_FRAGMENT},
        {"v4 first fragment, 7 udp bytes",
         v4(kV4Stranger, {.moreFragments = true}).l4Raw(IPPROTO_UDP, Bytes(7, 0)).build(),
         XK_PARSE_FRAG_SHORT},
        {"v6 first fragment, 8 tcp bytes",
         v6().fragment6(0, true).l4Raw(IPPROTO_TCP, Bytes(8, 0)).build(), XK_PARSE_FRAG_SHORT},
        {"v4 DF is not a fragment", v4(kV4Stranger, {.dontFragment = true}).udp(1, 2).build(),
         XK_PARSE_OK},
    };
    for (const auto &c : cases) EXPECT_EQ(parse(c.frame).result, c.result) << c.what;
}

TEST(ParseErrors, ShortIhlIsTruncated) {
    Bytes f = v4().udp(1, 2).build();
    f[14] = 0x44;
    EXPECT_EQ(parse(f).result, XK_PARSE_TRUNCATED);
}

}  // namespace
}  // namespace xk::test
