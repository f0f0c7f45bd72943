// UDP services through BPF_PROG_TEST_RUN: a datagram to a protected UDP port passes only
// with a live grant for it (or for every port), and the first one opens a flow; the flow
// outlives the grant while traffic keeps it alive, idles out after udp_timeout (one packet)
// or udp_stream_timeout (more), and a UDP flow never lets TCP through, nor a TCP one UDP.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/in.h>

#include <cstring>

#include "gate_expect.hpp"
#include "gate_frames.hpp"
#include "loaded_gate.hpp"
#include "require_root.hpp"

namespace xk::test {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint64_t kUdpIdleNs = 30 * kSecond;      // the program's default udp_timeout
constexpr uint64_t kStreamIdleNs = 120 * kSecond;  // ... and udp_stream_timeout
constexpr uint16_t kPeerPort = 41000;

LoadedGate &gate() {
    return catalogGate();
}

class BpfUdp : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        gate().clearUdpFlows();
        gate().clearFlows();
    }

    static Bytes udp4(std::string_view src, uint16_t sport = kPeerPort) {
        return PacketBuilder()
            .eth()
            .ipv4(src, kV4Gateway)
            .udp(sport, kVpnPort)
            .payload("openvpn")
            .build();
    }
    static xk_flow_key key(std::string_view src, std::string_view dst, uint16_t sport,
                           uint16_t dport = kVpnPort) {
        return flowKey(src, dst, sport, dport);
    }
    static xk_flow_key key4(std::string_view src, uint16_t sport = kPeerPort) {
        return key(src, kV4Gateway, sport);
    }
    // Runs once; expects the action and that `counter` alone moved by one.
    static void expect(const Bytes &frame, uint32_t action, uint32_t counter) {
        expectVerdictOn(gate(), frame, action, counter);
    }
    static void expireGrant(std::string_view src, uint8_t proto, uint16_t port) {
        // By hand: the store never shortens an entry.
        gate().authorize(gateAddr(src), proto, port, monotonicNowNs() - kSecond);
    }
};

TEST_F(BpfUdp, AGrantOpensAFlowThatOutlivesItWhileActive) {
    const char *src = "192.0.2.160";
    expect(udp4(src), XDP_DROP, XK_CNT_UDP_DROP);
    gate().grant(src, {IPPROTO_UDP, kVpnPort}, 60);
    expect(udp4(src), XDP_PASS, XK_CNT_UDP_GRANT_PASS);
    auto f = gate().udpFlow(key4(src));
    ASSERT_TRUE(f);
    EXPECT_LE(f->expires_ns, monotonicNowNs() + kUdpIdleNs);
    EXPECT_EQ(f->stream, 0u);

    expect(udp4(src), XDP_PASS, XK_CNT_UDP_FLOW_PASS);
    f = gate().udpFlow(key4(src));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->stream, 1u) << "a second packet makes it a stream";
    EXPECT_GT(f->expires_ns, monotonicNowNs() + kStreamIdleNs - 5 * kSecond);

    expireGrant(src, IPPROTO_UDP, kVpnPort);
    expect(udp4(src), XDP_PASS, XK_CNT_UDP_FLOW_PASS);
    // Another flow of the source (a new socket) needs a live grant.
    expect(udp4(src, kPeerPort + 1), XDP_DROP, XK_CNT_UDP_EXPIRED);
}

TEST_F(BpfUdp, AGrantForEveryPortOpensUdpToo) {
    const char *src = "192.0.2.161";
    gate().grant(src, {0, 0}, 60);
    expect(udp4(src), XDP_PASS, XK_CNT_UDP_GRANT_PASS);
}

TEST_F(BpfUdp, ATcpGrantIsNotAUdpGrant) {
    const char *src = "192.0.2.162";
    gate().grant(src, {IPPROTO_TCP, kVpnPort}, 60);
    expect(udp4(src), XDP_DROP, XK_CNT_UDP_DROP);
}

TEST_F(BpfUdp, AnIdleFlowNoLongerPasses) {
    const char *src = "192.0.2.163";
    gate().setUdpFlow(key4(src), monotonicNowNs() - kSecond, true);
    expect(udp4(src), XDP_DROP, XK_CNT_UDP_DROP);
}

TEST_F(BpfUdp, TrafficRefreshesAStreamsIdleTimeout) {
    const char *src = "192.0.2.164";
    gate().setUdpFlow(key4(src), monotonicNowNs() + 10 * kSecond, true);
    expect(udp4(src), XDP_PASS, XK_CNT_UDP_FLOW_PASS);
    EXPECT_GT(gate().udpFlow(key4(src))->expires_ns,
              monotonicNowNs() + kStreamIdleNs - 5 * kSecond);
}

TEST_F(BpfUdp, IPv6LikeIPv4) {
    const char *src = "2001:db8::160";  // not the catalog's stranger: this test grants it
    const Bytes v6 =
        PacketBuilder().eth().ipv6(src, kV6Gateway).udp(kPeerPort, kVpnPort).payload("wg").build();
    expect(v6, XDP_DROP, XK_CNT_UDP_DROP);
    gate().grant(src, {IPPROTO_UDP, kVpnPort}, 60);
    expect(v6, XDP_PASS, XK_CNT_UDP_GRANT_PASS);
    EXPECT_TRUE(gate().udpFlow(key(src, kV6Gateway, kPeerPort)));
    expireGrant(src, IPPROTO_UDP, kVpnPort);
    expect(v6, XDP_PASS, XK_CNT_UDP_FLOW_PASS);
}

// Flows are per protocol: the same addresses and ports in the other table open nothing.
TEST_F(BpfUdp, FlowsOfOneProtocolNeverPassTheOther) {
    const char *src = "192.0.2.165";
    gate().setUdpFlow(key(src, kV4Gateway, kPeerPort, kSshPort), monotonicNowNs() + kUdpIdleNs,
                      true);
    const Bytes ack =
        PacketBuilder().eth().ipv4(src, kV4Gateway).tcp(kPeerPort, kSshPort, kTcpAck).build();
    expect(ack, XDP_DROP, XK_CNT_TCP_DROP);
    gate().setFlow(key4(src), monotonicNowNs() + kUdpIdleNs);
    expect(udp4(src), XDP_DROP, XK_CNT_UDP_DROP);
}

// A flood of strangers' datagrams opens nothing.
TEST_F(BpfUdp, StrangersOpenNoFlow) {
    for (uint16_t port = kPeerPort; port < kPeerPort + 50; port++) {
        expect(udp4(kV4Stranger, port), XDP_DROP, XK_CNT_UDP_DROP);
        EXPECT_FALSE(gate().udpFlow(key4(kV4Stranger, port)));
    }
}

}  // namespace
}  // namespace xk::test
