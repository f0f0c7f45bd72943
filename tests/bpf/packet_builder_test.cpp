// The test frame builder checked against the wire formats it claims to produce.
#include <gtest/gtest.h>

#include "common/packet_builder.hpp"

namespace xk::test {
namespace {

uint16_t be16(const Bytes &b, size_t off) {
    return uint16_t((b[off] << 8) | b[off + 1]);
}

// Pseudo-header sum as the receiver computes it, to verify L4 checksums independently.
uint32_t pseudo(const Bytes &f, size_t ipOff, bool v6, uint8_t proto, size_t len) {
    uint32_t sum = proto + uint32_t(len);
    size_t from = ipOff + (v6 ? 8 : 12), n = v6 ? 32 : 8;
    for (size_t k = 0; k < n; k += 2) sum += be16(f, from + k);
    return sum;
}

std::span<const uint8_t> from(const Bytes &b, size_t off) {
    return std::span<const uint8_t>(b).subspan(off);
}

TEST(PacketBuilder, ChecksumKnownAnswer) {
    // RFC 1071-style example header (checksum field zeroed); expected 0xb861.
    const Bytes hdr = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(inetChecksum(hdr), 0xb861);
}

TEST(PacketBuilder, Ipv4UdpLayoutLengthsAndChecksums) {
    Bytes f = PacketBuilder()
                  .eth("02:00:00:00:00:0a", "02:00:00:00:00:0b")
                  .ipv4("10.0.0.1", "10.0.0.2", {.id = 7, .ttl = 33})
                  .udp(1234, 62201)
                  .payload("hello")
                  .build();
    ASSERT_EQ(f.size(), 14u + 20 + 8 + 5);
    EXPECT_EQ(f[0], 0x02);
    EXPECT_EQ(f[5], 0x0b);  // destination first
    EXPECT_EQ(f[11], 0x0a);
    EXPECT_EQ(be16(f, 12), 0x0800);
    EXPECT_EQ(f[14], 0x45);
    EXPECT_EQ(be16(f, 16), 20 + 8 + 5);
    EXPECT_EQ(be16(f, 18), 7);
    EXPECT_EQ(f[22], 33);
    EXPECT_EQ(f[23], 17);
    EXPECT_EQ(inetChecksum(std::span<const uint8_t>(f).subspan(14, 20)), 0);
    EXPECT_EQ(be16(f, 34), 1234);
    EXPECT_EQ(be16(f, 36), 62201);
    EXPECT_EQ(be16(f, 38), 8 + 5);
    EXPECT_EQ(inetChecksum(from(f, 34), pseudo(f, 14, false, 17, 13)), 0);
}

TEST(PacketBuilder, Ipv6ExtensionChainAndTcpChecksum) {
    Bytes f = PacketBuilder()
                  .eth()
                  .ipv6("2001:db8::1", "2001:db8::2")
                  .hopByHop(16)
                  .destOpts()
                  .fragment6(0, true, 99)
                  .tcp(1, 22, kTcpSyn, {.seq = 5, .options = {2, 4, 0x05, 0xb4}})
                  .build();
    const size_t l4 = 14 + 40 + 16 + 8 + 8;
    ASSERT_EQ(f.size(), l4 + 24);
    EXPECT_EQ(be16(f, 12), 0x86dd);
    EXPECT_EQ(be16(f, 18), 16 + 8 + 8 + 24);  // payload length
    EXPECT_EQ(f[20], 0);                      // next: hop-by-hop
    EXPECT_EQ(f[54], 60);                     // HBH -> dest opts
    EXPECT_EQ(f[55], 1);                      // (1 + 1) * 8 bytes
    EXPECT_EQ(f[70], 44);                     // DO -> fragment
    EXPECT_EQ(f[78], 6);                      // fragment -> TCP
    EXPECT_EQ(be16(f, 80), 1);                // offset 0, M set
    EXPECT_EQ(f[l4 + 12] >> 4, 6);            // data offset with 4 option bytes
    EXPECT_EQ(f[l4 + 13], kTcpSyn);
    EXPECT_EQ(inetChecksum(from(f, l4), pseudo(f, 14, true, 6, 24)), 0);
}

TEST(PacketBuilder, TwoVlanTagsUseQinQOuterTpid) {
    Bytes f = PacketBuilder().eth().vlan(100, 3).vlan(10).ipv4("10.0.0.1", "10.0.0.2").build();
    EXPECT_EQ(be16(f, 12), 0x88a8);
    EXPECT_EQ(be16(f, 14), (3 << 13) | 100);
    EXPECT_EQ(be16(f, 16), 0x8100);
    EXPECT_EQ(be16(f, 18), 10);
    EXPECT_EQ(be16(f, 20), 0x0800);
    EXPECT_EQ(f[22 + 9], 255);  // no upper layer given
}

TEST(PacketBuilder, Ipv4OptionsAndFragmentFields) {
    Bytes f =
        PacketBuilder()
            .eth()
            .ipv4("10.0.0.1", "10.0.0.2",
                  {.options = {0x94, 0x04, 0, 0, 1}, .fragOffset = 1480, .moreFragments = true})
            .l4Raw(6, Bytes(8, 0))
            .build();
    EXPECT_EQ(f[14], 0x47);  // 5 option bytes padded to 8
    EXPECT_EQ(be16(f, 20), 0x2000 | (1480 / 8));
    EXPECT_EQ(f[23], 6);
    EXPECT_EQ(inetChecksum(std::span<const uint8_t>(f).subspan(14, 28)), 0);
}

TEST(PacketBuilder, IcmpChecksums) {
    Bytes v4 = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").icmp(8).payload("ping").build();
    EXPECT_EQ(v4[23], 1);
    EXPECT_EQ(inetChecksum(from(v4, 34)), 0);
    Bytes v6 = PacketBuilder().eth().ipv6("::1", "::2").icmp(128).payload("ping").build();
    EXPECT_EQ(v6[20], 58);
    EXPECT_EQ(inetChecksum(from(v6, 54), pseudo(v6, 14, true, 58, 12)), 0);
}

TEST(PacketBuilder, ArpRequest) {
    Bytes f = PacketBuilder()
                  .eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff")
                  .arp("10.0.0.1", "10.0.0.9")
                  .build();
    ASSERT_EQ(f.size(), 14u + 28);
    EXPECT_EQ(be16(f, 12), 0x0806);
    EXPECT_EQ(be16(f, 20), 1);
    EXPECT_EQ(f[27], 0x01);  // sender MAC from eth()
    EXPECT_EQ(f[41], 9);
}

TEST(PacketBuilder, PadAndTruncateKeepHeaderLengths) {
    Bytes padded = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).padTo(60).build();
    EXPECT_EQ(padded.size(), 60u);
    EXPECT_EQ(be16(padded, 16), 28);
    Bytes cut = PacketBuilder()
                    .eth()
                    .ipv4("10.0.0.1", "10.0.0.2")
                    .udp(1, 2)
                    .payload("abcdef")
                    .truncate(40)
                    .build();
    EXPECT_EQ(cut.size(), 40u);
    EXPECT_EQ(be16(cut, 16), 34);
}

TEST(PacketBuilder, RejectsMalformedInput) {
    EXPECT_THROW(parseMac("02:00:00:00:00"), std::invalid_argument);
    EXPECT_THROW(parseIpv4("10.0.0"), std::invalid_argument);
    EXPECT_THROW(parseIpv6("2001:db8::g"), std::invalid_argument);
    EXPECT_THROW(PacketBuilder().vlan(4096), std::invalid_argument);
    EXPECT_THROW(PacketBuilder().hopByHop(12), std::invalid_argument);
    EXPECT_THROW(PacketBuilder().ipv4("1.1.1.1", "2.2.2.2", {.fragOffset = 3}),
                 std::invalid_argument);
    EXPECT_THROW(PacketBuilder().ipv4("1.1.1.1", "2.2.2.2", {.options = Bytes(41, 1)}),
                 std::invalid_argument);
}

}  // namespace
}  // namespace xk::test
