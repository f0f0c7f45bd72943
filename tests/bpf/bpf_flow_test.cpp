// The gate's TCP flow table through BPF_PROG_TEST_RUN: an authorized SYN opens a flow whose
// later packets pass after the grant expires; FIN/RST shorten it; packets from outside any
// flow (scans) drop unless the source holds a grant.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "gate_expect.hpp"
#include "gate_frames.hpp"
#include "loaded_gate.hpp"
#include "require_root.hpp"

namespace xk::test {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint64_t kIdleNs = 7200 * kSecond;  // the program's default flow_idle_timeout
constexpr uint16_t kPeerPort = 41000;

LoadedGate &gate() {
    return catalogGate();
}

class BpfFlow : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        gate().clearFlows();
    }

    static Bytes tcp4(std::string_view src, uint8_t flags, uint16_t sport = kPeerPort) {
        return PacketBuilder().eth().ipv4(src, kV4Gateway).tcp(sport, kSshPort, flags).build();
    }
    static xk_flow_key key4(std::string_view src, uint16_t sport = kPeerPort) {
        return key(src, kV4Gateway, sport);
    }
    static xk_flow_key key(std::string_view src, std::string_view dst, uint16_t sport) {
        return flowKey(src, dst, sport, kSshPort);
    }
    // Runs once; expects the action and that `counter` alone moved by one.
    static void expect(const Bytes &frame, uint32_t action, uint32_t counter) {
        expectVerdictOn(gate(), frame, action, counter);
    }
};

// The SYN passes on the grant and leaves the flow to the handshake's ACK, which passes on
// the same grant and opens it; the flow then outlives the grant.
TEST_F(BpfFlow, AuthorizedHandshakeOpensAFlowThatOutlivesTheGrant) {
    const char *src = "192.0.2.150";
    gate().grant(src, {IPPROTO_TCP, kSshPort}, 60);
    expect(tcp4(src, kTcpSyn), XDP_PASS, XK_CNT_SYN_PASS);
    EXPECT_FALSE(gate().flow(key4(src))) << "a SYN far from its grant's end opens no flow";
    expect(tcp4(src, kTcpAck), XDP_PASS, XK_CNT_TCP_GRANT_PASS);
    auto f = gate().flow(key4(src));
    ASSERT_TRUE(f);
    EXPECT_GT(f->expires_ns, monotonicNowNs() + kIdleNs - 60 * kSecond);
    EXPECT_EQ(f->closing, 0u);
    expect(tcp4(src, kTcpAck | kTcpPsh), XDP_PASS, XK_CNT_TCP_FLOW_PASS);

    // Expired by hand: the store never shortens an entry.
    gate().authorize(gateAddr(src), IPPROTO_TCP, kSshPort, monotonicNowNs() - kSecond);
    expect(tcp4(src, kTcpAck), XDP_PASS, XK_CNT_TCP_FLOW_PASS);
    // Another connection of the same source has no flow and no live grant.
    expect(tcp4(src, kTcpAck, kPeerPort + 1), XDP_DROP, XK_CNT_TCP_DROP);
    expect(tcp4(src, kTcpSyn, kPeerPort + 1), XDP_DROP, XK_CNT_SYN_EXPIRED);
}

// SYNs alone (retransmits, a flood spoofing a granted source) never fill the flow table.
TEST_F(BpfFlow, SynsAloneOpenNoFlow) {
    const char *src = "192.0.2.152";
    gate().grant(src, {IPPROTO_TCP, kSshPort}, 60);
    for (uint16_t port = kPeerPort; port < kPeerPort + 50; port++) {
        expect(tcp4(src, kTcpSyn, port), XDP_PASS, XK_CNT_SYN_PASS);
        EXPECT_FALSE(gate().flow(key4(src, port)));
    }
}

// Near its grant's end the SYN opens the flow itself: an ACK after the grant (lost
// SYN-ACKs) still finds it.
TEST_F(BpfFlow, SynNearItsGrantsEndOpensTheFlow) {
    const char *src = "192.0.2.153";
    // Raw: the store grants whole seconds from now; this one ends in 5 s.
    gate().authorize(gateAddr(src), IPPROTO_TCP, kSshPort, monotonicNowNs() + 5 * kSecond);
    expect(tcp4(src, kTcpSyn), XDP_PASS, XK_CNT_SYN_PASS);
    ASSERT_TRUE(gate().flow(key4(src)));
    gate().authorize(gateAddr(src), IPPROTO_TCP, kSshPort, monotonicNowNs() - kSecond);
    expect(tcp4(src, kTcpAck), XDP_PASS, XK_CNT_TCP_FLOW_PASS);
}

TEST_F(BpfFlow, UnauthorizedSynOpensNothing) {
    expect(tcp4(kV4Stranger, kTcpSyn), XDP_DROP, XK_CNT_SYN_DROP);
    EXPECT_FALSE(gate().flow(key4(kV4Stranger)));
    expect(tcp4(kV4Stranger, kTcpAck), XDP_DROP, XK_CNT_TCP_DROP);
}

TEST_F(BpfFlow, FinShortensTheFlowAndTrafficNoLongerExtendsIt) {
    const uint64_t now = monotonicNowNs();
    gate().setFlow(key4(kV4Stranger), now + kIdleNs);
    expect(tcp4(kV4Stranger, kTcpFin | kTcpAck), XDP_PASS, XK_CNT_TCP_FLOW_PASS);
    auto f = gate().flow(key4(kV4Stranger));
    ASSERT_TRUE(f);
    EXPECT_LE(f->expires_ns, monotonicNowNs() + 120 * kSecond);
    EXPECT_EQ(f->closing, 1u);
    const uint64_t closing = f->expires_ns;
    expect(tcp4(kV4Stranger, kTcpAck), XDP_PASS, XK_CNT_TCP_FLOW_PASS);
    EXPECT_EQ(gate().flow(key4(kV4Stranger))->expires_ns, closing);
}

TEST_F(BpfFlow, RstEndsTheFlowAlmostAtOnce) {
    gate().setFlow(key4(kV4Stranger), monotonicNowNs() + kIdleNs);
    expect(tcp4(kV4Stranger, kTcpRst), XDP_PASS, XK_CNT_TCP_FLOW_PASS);
    EXPECT_LE(gate().flow(key4(kV4Stranger))->expires_ns, monotonicNowNs() + 10 * kSecond);
}

TEST_F(BpfFlow, IdleFlowNoLongerPasses) {
    gate().setFlow(key4(kV4Stranger), monotonicNowNs() - kSecond);
    expect(tcp4(kV4Stranger, kTcpAck), XDP_DROP, XK_CNT_TCP_DROP);
}

TEST_F(BpfFlow, TrafficRefreshesTheIdleTimeout) {
    gate().setFlow(key4(kV4Stranger), monotonicNowNs() + kIdleNs - 600 * kSecond);
    expect(tcp4(kV4Stranger, kTcpAck), XDP_PASS, XK_CNT_TCP_FLOW_PASS);
    EXPECT_GT(gate().flow(key4(kV4Stranger))->expires_ns, monotonicNowNs() + kIdleNs - 5 * kSecond);
}

// What seeding at attach writes (the admin's open SSH session): it passes, v4 and v6.
TEST_F(BpfFlow, SeededFlowPassesBothFamilies) {
    gate().setFlow(key4(kV4Stranger), monotonicNowNs() + kIdleNs);
    expect(tcp4(kV4Stranger, kTcpAck | kTcpPsh), XDP_PASS, XK_CNT_TCP_FLOW_PASS);

    const xk_flow_key k6 = key(kV6Stranger, kV6Gateway, kPeerPort);
    const Bytes ack6 = PacketBuilder()
                           .eth()
                           .ipv6(kV6Stranger, kV6Gateway)
                           .tcp(kPeerPort, kSshPort, kTcpAck)
                           .build();
    expect(ack6, XDP_DROP, XK_CNT_TCP_DROP);
    gate().setFlow(k6, monotonicNowNs() + kIdleNs);
    expect(ack6, XDP_PASS, XK_CNT_TCP_FLOW_PASS);
}

TEST_F(BpfFlow, GrantHolderWithoutFlowOpensOne) {
    const char *src = "192.0.2.151";
    gate().grant(src, {IPPROTO_TCP, kSshPort}, 60);
    expect(tcp4(src, kTcpAck), XDP_PASS, XK_CNT_TCP_GRANT_PASS);
    ASSERT_TRUE(gate().flow(key4(src)));
    expect(tcp4(src, kTcpAck), XDP_PASS, XK_CNT_TCP_FLOW_PASS);
}

}  // namespace
}  // namespace xk::test
