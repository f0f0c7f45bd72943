#include "agent/held_syn.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/packet_builder.hpp"

using xk::agent::fix_tcp_checksum;
using xk::agent::parse_held_syn;
using xk::agent::still_syn_sent;
using xk::test::PacketBuilder;

namespace {

xk::test::Bytes syn_v4() {
    xk::test::TcpOptions o;
    o.options = {2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7};  // MSS, SACK ok, window scale
    return PacketBuilder()
        .eth()
        .ipv4("10.99.0.2", "10.99.0.1")
        .tcp(49964, 22, xk::test::kTcpSyn, o)
        .build();
}

xk::test::Bytes syn_v6() {
    return PacketBuilder()
        .eth()
        .ipv6("fd99::2", "fd99::1")
        .tcp(47574, 22, xk::test::kTcpSyn)
        .build();
}

TEST(HeldSyn, ParsesWhereTheSynGoes) {
    auto v4 = parse_held_syn(syn_v4());
    ASSERT_TRUE(v4);
    EXPECT_EQ(xk::policy::format_address(v4->daddr), "10.99.0.1");
    EXPECT_EQ(v4->sport, 49964);
    EXPECT_EQ(v4->dport, 22);
    auto v6 = parse_held_syn(syn_v6());
    ASSERT_TRUE(v6);
    EXPECT_EQ(xk::policy::format_address(v6->daddr), "fd99::1");
    auto synack = PacketBuilder()
                      .eth()
                      .ipv4("10.99.0.2", "10.99.0.1")
                      .tcp(1, 22, xk::test::kTcpSyn | xk::test::kTcpAck)
                      .build();
    EXPECT_FALSE(parse_held_syn(synack)) << "only a SYN without ACK is ever held";
}

// At egress the checksum field may hold only the pseudo-header sum (NIC offload): fixed,
// the frame equals the one with a correct checksum.
TEST(HeldSyn, FixesAPartialChecksum) {
    for (auto good : {syn_v4(), syn_v6()}) {
        auto frame = good;
        const size_t csum = 14 + (good == syn_v4() ? 20 : 40) + 16;  // Ethernet, IP, TCP's 16
        frame[csum] = 0x12;
        frame[csum + 1] = 0x34;
        ASSERT_NE(frame, good);
        ASSERT_TRUE(fix_tcp_checksum(frame));
        EXPECT_EQ(frame, good);
    }
    auto arp = PacketBuilder().eth().arp().build();
    EXPECT_FALSE(fix_tcp_checksum(arp));
}

TEST(HeldSyn, StillSynSentReadsTheSocketTable) {
    auto syn = *parse_held_syn(syn_v4());  // 10.99.0.2:49964 -> 10.99.0.1:22
    const std::string header = "  sl  local_address rem_address   st tx_queue rx_queue\n";
    // 10.99.0.2 = 0x0200630A as /proc prints a little-endian word; 49964 = 0xC32C.
    const std::string waiting = header + "   0: 0200630A:C32C 0100630A:0016 02 00000000:00000000\n";
    const std::string answered =
        header + "   0: 0200630A:C32C 0100630A:0016 01 00000000:00000000\n";
    const std::string other = header + "   0: 0200630A:C32D 0100630A:0016 02 00000000:00000000\n";
    EXPECT_TRUE(still_syn_sent(syn, std::vector<std::string>{waiting}));
    EXPECT_FALSE(still_syn_sent(syn, std::vector<std::string>{answered}));
    EXPECT_FALSE(still_syn_sent(syn, std::vector<std::string>{other}));
    // A dual-stack socket lists the IPv4 peer as a mapped address in tcp6.
    const std::string mapped =
        header +
        "   0: 0000000000000000FFFF00000200630A:C32C 0000000000000000FFFF00000100630A:0016 02 0\n";
    EXPECT_TRUE(still_syn_sent(syn, std::vector<std::string>{"", mapped}));
}

}  // namespace
