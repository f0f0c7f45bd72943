// The XDP gate run through BPF_PROG_TEST_RUN on the frame catalog: each frame must get
// its XDP action and move exactly its own counter by one.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

#include "gate_frames.hpp"
#include "knock_socket.hpp"
#include "loaded_gate.hpp"

namespace xk::test {

// Names the case in test listings instead of gtest's byte dump (found by ADL).
void PrintTo(const GateCase &c, std::ostream *os) {
    *os << c.name;
}

namespace {

// Loaded once per process: loading is the slow part, and the catalog never writes maps.
LoadedGate &gate() {
    static std::unique_ptr<LoadedGate> loaded = [] {
        auto g = std::make_unique<LoadedGate>();
        g->installCatalogWorld();
        return g;
    }();
    return *loaded;
}

class BpfGate : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) {
            const char *ci = std::getenv("CI");
            // CI must prove the data path; a developer box without root may skip it.
            if (ci && std::string(ci) == "true") FAIL() << "bpf tests need root (CI=true)";
            GTEST_SKIP() << "bpf tests need root";
        }
        gate();  // throws (and fails the test) if the program does not load
    }

    // Runs `frame` `repeat` times; expects `action` and `repeat` more of `counter` only.
    static void expectVerdict(std::span<const uint8_t> frame, uint32_t action, uint32_t counter,
                              uint32_t repeat = 1) {
        const Counters before = gate().counters();
        const LoadedGate::Run r = gate().run(frame, repeat);
        const Counters after = gate().counters();
        ASSERT_EQ(r.err, 0) << "bpf_prog_test_run_opts: " << std::strerror(-r.err);
        EXPECT_EQ(r.retval, action)
            << "got " << actionName(r.retval) << ", want " << actionName(action);
        for (uint32_t i = 0; i < XK_CNT__MAX; i++)
            EXPECT_EQ(after[i] - before[i], i == counter ? repeat : 0u)
                << "counter " << counterName(i);
    }
};

class GateVerdict : public BpfGate, public ::testing::WithParamInterface<GateCase> {};

TEST_P(GateVerdict, ActionAndCounter) {
    const GateCase &c = GetParam();
    if (c.frame.size() < ETH_HLEN) {
        // The kernel refuses such input outright; a NIC never hands XDP a runt like this.
        EXPECT_EQ(gate().run(c.frame).err, -EINVAL);
        return;
    }
    expectVerdict(c.frame, c.action, c.counter);
}

INSTANTIATE_TEST_SUITE_P(Catalog, GateVerdict, ::testing::ValuesIn(gateCases()),
                         [](const auto &info) { return info.param.name; });

TEST_F(BpfGate, RepeatCountsEveryRun) {
    expectVerdict(gateCase("syn_unauth").frame, XDP_DROP, XK_CNT_SYN_DROP, 1000);
}

TEST_F(BpfGate, EntryExpiringLaterPassesAndExpiredOneDrops) {
    // Rewrites one grant back and forth, so it runs on its own source address.
    const Ipv6Addr src = gateAddr("192.0.2.200");
    const Bytes syn =
        PacketBuilder().eth().ipv4("192.0.2.200", kV4Gateway).tcp(40000, kSshPort, kTcpSyn).build();
    expectVerdict(syn, XDP_DROP, XK_CNT_SYN_DROP);
    gate().authorize(src, IPPROTO_TCP, kSshPort, monotonicNowNs() + 60'000'000'000u);
    expectVerdict(syn, XDP_PASS, XK_CNT_SYN_PASS);
    gate().authorize(src, IPPROTO_TCP, kSshPort, monotonicNowNs() - 1);
    expectVerdict(syn, XDP_DROP, XK_CNT_SYN_EXPIRED);
}

// Token bucket on kRatePort (10/s, burst 3). Each test knocks from its own sources, since
// buckets outlive a test.
Bytes rateKnock(std::string_view src) {
    PacketBuilder b;
    b.eth();
    if (src.find(':') != std::string_view::npos) {
        b.ipv6(src, kV6Gateway);
    } else {
        b.ipv4(src, kV4Gateway);
    }
    return b.udp(40000, kRatePort).payload(fkoShaped()).build();
}

TEST_F(BpfGate, KnockBurstPassesThenDropsCounted) {
    const Bytes knock = rateKnock("192.0.2.60");
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP, 5);
}

TEST_F(BpfGate, KnockBucketRefillsWithTime) {
    const Bytes knock = rateKnock("192.0.2.61");
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
    // Real time: after 1.2 intervals one token is back, and only one (a second would need
    // 2 intervals: 80 ms of slack for a late wake-up).
    std::this_thread::sleep_for(std::chrono::nanoseconds(kRateIntervalNs * 6 / 5));
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
    // An idle source's bucket is full again: its theoretical arrival time lies in the past.
    gate().setKnockBucket(gateAddr("192.0.2.61"), monotonicNowNs() - 10 * kRateIntervalNs);
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
}

TEST_F(BpfGate, KnockBucketsAreIndependentPerSource) {
    expectVerdict(rateKnock("192.0.2.62"), XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(rateKnock("192.0.2.62"), XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
    expectVerdict(rateKnock("192.0.2.63"), XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(rateKnock("192.0.2.63"), XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
}

TEST_F(BpfGate, KnockBucketsIpv6PerSlash64) {
    expectVerdict(rateKnock("2001:db8:a:1::1"), XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(rateKnock("2001:db8:a:1::1"), XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
    // Another address of the same /64 is the same host, as far as a bucket can tell.
    expectVerdict(rateKnock("2001:db8:a:1:ffff::2"), XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
    expectVerdict(rateKnock("2001:db8:a:2::1"), XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    // An IPv4 source is apart from every IPv6 one.
    expectVerdict(rateKnock("192.0.2.64"), XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
}

TEST_F(BpfGate, KnockJunkSpendsNoTokens) {
    const Bytes junk = PacketBuilder()
                           .eth()
                           .ipv4("192.0.2.65", kV4Gateway)
                           .udp(40000, kRatePort)
                           .payload(fkoShaped(100))
                           .build();
    expectVerdict(junk, XDP_DROP, XK_CNT_KNOCK_LEN_DROP, 20);
    expectVerdict(rateKnock("192.0.2.65"), XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
}

// A bound AF_XDP socket in xsks[rx queue] turns the knock into XDP_REDIRECT. Test runs
// see rx_queue_index 0, so the socket sits on queue 0 of lo (copy mode).
TEST_F(BpfGate, KnockRedirectsToBoundSocket) {
    KnockSocket xsk("lo", 0);
    gate().setXsk(0, xsk.fd());
    struct Unset {
        ~Unset() { gate().clearXsk(0); }
    } unset;
    for (const char *name : {"knock_v4", "knock_v6", "knock_vlan", "knock_qinq",
                             "knock_plain_len_5", "knock_shared_plain", "knock_shared_fko"}) {
        SCOPED_TRACE(name);
        expectVerdict(gateCase(name).frame, XDP_REDIRECT, XK_CNT_KNOCK_REDIRECT);
    }
    // Non-knocks are untouched by the socket's presence, and pre-filtered junk stays out.
    expectVerdict(gateCase("udp_other_port").frame, XDP_PASS, XK_CNT_UDP_PASS);
    expectVerdict(gateCase("knock_fko_too_short").frame, XDP_DROP, XK_CNT_KNOCK_LEN_DROP);
    expectVerdict(gateCase("knock_fko_prefix_replay").frame, XDP_DROP, XK_CNT_KNOCK_BYTE_DROP);
}

}  // namespace
}  // namespace xk::test
