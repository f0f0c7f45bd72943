// The XDP gate run through BPF_PROG_TEST_RUN on the frame catalog: each frame must get
// its XDP action and move exactly its own counter by one.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <utility>
#include <vector>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <thread>

#include "gate_expect.hpp"
#include "gate_frames.hpp"
#include "loaded_gate.hpp"
#include "require_root.hpp"
#include "xsk/xsk_socket.hpp"

namespace xk::test {

// Names the case in test listings instead of gtest's byte dump (found by ADL).
void PrintTo(const GateCase &c, std::ostream *os) {
    *os << c.name;
}

namespace {

LoadedGate &gate() {
    return catalogGate();
}

class BpfGate : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        gate();  // throws (and fails the test) if the program does not load
    }

    // Runs `frame` `repeat` times; expects `action` and `repeat` more of `counter` only.
    static void expectVerdict(std::span<const uint8_t> frame, uint32_t action, uint32_t counter,
                              uint32_t repeat = 1) {
        expectVerdictOn(gate(), frame, action, counter, repeat);
    }
    // Flows are cleared first: an authorized SYN opens one, and the catalog's verdicts are
    // those of a gate that has seen no earlier packet of the flow.
    static void expectVerdictOn(LoadedGate &g, std::span<const uint8_t> frame, uint32_t action,
                                uint32_t counter, uint32_t repeat = 1) {
        g.clearFlows();
        g.clearUdpFlows();
        test::expectVerdictOn(g, frame, action, counter, repeat);
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

// The same world on a gate loaded for a raw-IP link (tun, ppp, WireGuard, ipip/gre).
LoadedGate &rawGate() {
    return catalogGate(true);
}

class RawIpVerdict : public BpfGate, public ::testing::WithParamInterface<GateCase> {};

TEST_P(RawIpVerdict, ActionAndCounter) {
    const GateCase &c = GetParam();
    if (c.frame.size() < ETH_HLEN) {
        EXPECT_EQ(rawGate().run(c.frame).err, -EINVAL);
        return;
    }
    expectVerdictOn(rawGate(), c.frame, c.action, c.counter);
}

INSTANTIATE_TEST_SUITE_P(Catalog, RawIpVerdict, ::testing::ValuesIn(rawIpCases()),
                         [](const auto &info) { return info.param.name; });

// Without the raw-IP setting a raw frame's source address is read as an EtherType: the
// bug that let every SYN through on tun/ppp links. The loader must never do that.
TEST_F(BpfGate, RawIpSynOnAnEthernetGateIsNotJudged) {
    const GateCase &c = gateCase("syn_unauth");
    const Bytes raw(c.frame.begin() + ETH_HLEN, c.frame.end());
    expectVerdictOn(gate(), raw, XDP_PASS, XK_CNT_OTHER_PASS);
    expectVerdictOn(rawGate(), raw, XDP_DROP, XK_CNT_SYN_DROP);
}

TEST_F(BpfGate, RepeatCountsEveryRun) {
    expectVerdict(gateCase("syn_unauth").frame, XDP_DROP, XK_CNT_SYN_DROP, 1000);
}

TEST_F(BpfGate, EntryExpiringLaterPassesAndExpiredOneDrops) {
    // Rewrites one grant back and forth, so it runs on its own source address.
    const Ipv6Addr src = gateAddr("192.0.2.200");
    const Bytes syn =
        PacketBuilder().eth().ipv4("192.0.2.200", kV4Gateway).tcp(40000, kSshPort, kTcpSyn).build();
    expectVerdict(syn, XDP_DROP, XK_CNT_SYN_DROP);
    gate().grant("192.0.2.200", {IPPROTO_TCP, kSshPort}, 60);
    expectVerdict(syn, XDP_PASS, XK_CNT_SYN_PASS);
    // Back-dated by hand: the store never shortens an entry. The gate reads the coarse
    // clock (a tick behind), so a second back.
    gate().authorize(src, IPPROTO_TCP, kSshPort, monotonicNowNs() - 1'000'000'000u);
    expectVerdict(syn, XDP_DROP, XK_CNT_SYN_EXPIRED);
}

// Ethernet + IPv4 or IPv6 (by the address's spelling) from src to the gateway.
PacketBuilder toGateway(std::string_view src) {
    PacketBuilder b;
    b.eth();
    if (src.find(':') != std::string_view::npos) {
        b.ipv6(src, kV6Gateway);
    } else {
        b.ipv4(src, kV4Gateway);
    }
    return b;
}

// Token bucket on kRatePort (10/s, burst 3). Each test knocks from its own sources, since
// buckets outlive a test.
Bytes rateKnock(std::string_view src) {
    PacketBuilder b = toGateway(src);
    return b.udp(40000, kRatePort).payload(fkoShaped()).build();
}

TEST_F(BpfGate, KnockBurstPassesThenDropsCounted) {
    const Bytes knock = rateKnock("192.0.2.60");
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP, 5);
}

// The counter one run of `frame` moved (XK_CNT__MAX if none or several).
uint32_t counterOf(const Bytes &frame) {
    const Counters before = gate().counters();
    gate().run(frame);
    const Counters after = gate().counters();
    const uint32_t none = XK_CNT__MAX;
    uint32_t moved = none;
    for (uint32_t i = 0; i < XK_CNT__MAX; i++)
        if (after[i] != before[i]) moved = moved == none ? i : none;
    return moved;
}

TEST_F(BpfGate, KnockBucketRefillsWithTime) {
    // Real time: after 1.2 intervals one token is back, and only one. A box too busy to
    // keep the timing (its knocks 2 intervals apart) tries again with another source.
    const uint64_t margin = 10'000'000;  // the gate's clock is a tick or two behind
    const char *sources[] = {"192.0.2.61", "192.0.2.68", "192.0.2.69"};
    bool timed = false;
    for (const char *src : sources) {
        const Bytes knock = rateKnock(src);
        const uint64_t t0 = monotonicNowNs();
        std::vector<uint32_t> got;
        for (uint32_t i = 0; i <= kRateBurst; i++) got.push_back(counterOf(knock));
        if (monotonicNowNs() - t0 >= kRateIntervalNs - margin) continue;
        std::this_thread::sleep_for(std::chrono::nanoseconds(kRateIntervalNs * 6 / 5));
        got.push_back(counterOf(knock));
        got.push_back(counterOf(knock));
        if (monotonicNowNs() - t0 >= 2 * kRateIntervalNs - margin) continue;
        const std::vector<uint32_t> want = {XK_CNT_KNOCK_NO_SOCKET, XK_CNT_KNOCK_NO_SOCKET,
                                            XK_CNT_KNOCK_NO_SOCKET, XK_CNT_KNOCK_RATE_DROP,
                                            XK_CNT_KNOCK_NO_SOCKET, XK_CNT_KNOCK_RATE_DROP};
        EXPECT_EQ(got, want);
        // An idle source's bucket is full again: its theoretical arrival time lies in the past.
        gate().setKnockBucket(gateAddr(src), monotonicNowNs() - 10 * kRateIntervalNs);
        expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
        expectVerdict(knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
        timed = true;
        break;
    }
    EXPECT_TRUE(timed) << "the box never kept a 100 ms timing in three tries";
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

// The bucket reads the tick's clock (up to a tick or two behind): a knock that clock would
// drop just before its token asks the exact one, so drops stay exact either way.
TEST_F(BpfGate, KnockAtItsTokenPassesWhateverTheTickAndOneBeforeDrops) {
    constexpr uint64_t kBurstNs = uint64_t{kRateBurst - 1} * kRateIntervalNs;
    constexpr uint64_t kMs = 1'000'000;
    for (int i = 0; i < 20; i++) {
        const std::string early = "192.0.2." + std::to_string(100 + i);
        const std::string due = "192.0.2." + std::to_string(130 + i);
        // A token 30 ms away: over the burst whichever clock reads it (unless this thread
        // sleeps 30 ms between the two lines).
        gate().setKnockBucket(gateAddr(early), monotonicNowNs() + kBurstNs + 30 * kMs);
        expectVerdict(rateKnock(early), XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
        // A token 1 ms ago: due by the exact clock, not yet by a tick's clock most of the time.
        gate().setKnockBucket(gateAddr(due), monotonicNowNs() + kBurstNs - kMs);
        expectVerdict(rateKnock(due), XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // other tick phases
    }
}

// Three sources whose buckets share a set (maps.h: xk_knock_set): the newcomer takes the
// slot least in debt, so a flooding source keeps its debt whoever else knocks.
TEST_F(BpfGate, KnockBucketSetEvictsTheSourceLeastInDebt) {
    std::vector<std::string> same;  // IPv4 sources of one set
    uint32_t want = 0;
    for (uint32_t i = 0; same.size() < 3 && i < (1u << 16); i++) {
        const std::string a = "198.18." + std::to_string(i >> 8) + "." + std::to_string(i & 255);
        const Ipv6Addr mapped = gateAddr(a);
        __u32 w[4];
        std::memcpy(w, mapped.data(), sizeof(w));
        const uint32_t set = xk_knock_set_of(w);
        if (same.empty()) want = set;
        if (set == want) same.push_back(a);
    }
    ASSERT_EQ(same.size(), 3u);
    const Bytes flooder = rateKnock(same[0]), light = rateKnock(same[1]),
                newcomer = rateKnock(same[2]);
    expectVerdict(flooder, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET, kRateBurst);
    expectVerdict(flooder, XDP_DROP, XK_CNT_KNOCK_RATE_DROP);
    expectVerdict(light, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
    expectVerdict(newcomer, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);  // takes the light one's slot
    expectVerdict(flooder, XDP_DROP, XK_CNT_KNOCK_RATE_DROP);   // still in debt
}

// The stamp in front of a knock (what the worker times knock -> authorized from) is the
// exact clock, not the tick's.
TEST_F(BpfGate, KnockIsStampedWithTheExactClock) {
    const Bytes &knock = gateCase("knock_v4").frame;
    const uint64_t t0 = monotonicNowNs();
    const Bytes out = gate().output(knock);
    const uint64_t t1 = monotonicNowNs();
    ASSERT_EQ(out.size(), knock.size() + sizeof(xk_knock_meta));
    xk_knock_meta m{};
    std::memcpy(&m, out.data(), sizeof(m));
    EXPECT_EQ(m.magic, XK_KNOCK_META_MAGIC);
    EXPECT_GE(m.rx_ns, t0);
    EXPECT_LE(m.rx_ns, t1);
}

// A bound AF_XDP socket in xsks[rx queue] turns the knock into XDP_REDIRECT. Test runs
// see rx_queue_index 0, so the socket sits on queue 0 of lo (copy mode), registered by
// xsk::XskSocket as the daemon's are.
TEST_F(BpfGate, KnockRedirectsToBoundSocket) {
    const auto xsk = gate().bindKnockSocket(0);
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

// Wake-on-LAN: an authorized SYN to a wake host's service passes and asks for the host
// once per debounce interval; nothing else ever does. The wake services (kWakePort,
// kWakeAddrPort) are the catalog config's; the sources are each test's own.

Bytes wakeSyn(std::string_view src, uint16_t dport) {
    PacketBuilder b = toGateway(src);
    return b.tcp(40000, dport, kTcpSyn).build();
}

class BpfWake : public BpfGate {
  protected:
    void SetUp() override {
        BpfGate::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        gate().resetWakeDebounce(kWakeHost);
        gate().resetWakeDebounce(kWakeAddrHost);
        gate().drainWakeEvents();
    }

    static void grant(std::string_view src, uint16_t port, uint32_t range, uint32_t secret) {
        gate().grant(src, {IPPROTO_TCP, port}, 60, range, secret);
    }

    // Runs `frame` once; expects `action`, and exactly the counter deltas given.
    static void expectRun(std::span<const uint8_t> frame, uint32_t action,
                          std::initializer_list<std::pair<uint32_t, uint64_t>> deltas,
                          uint32_t repeat = 1) {
        const Counters before = gate().counters();
        const LoadedGate::Run r = gate().run(frame, repeat);
        const Counters after = gate().counters();
        ASSERT_EQ(r.err, 0);
        EXPECT_EQ(r.retval, action)
            << "got " << actionName(r.retval) << ", want " << actionName(action);
        for (uint32_t i = 0; i < XK_CNT__MAX; i++) {
            uint64_t want = 0;
            for (const auto &[c, d] : deltas)
                if (c == i) want = d;
            EXPECT_EQ(after[i] - before[i], want) << "counter " << counterName(i);
        }
    }
};

TEST_F(BpfWake, AuthorizedSynPassesAndEmitsOneEvent) {
    grant("192.0.2.70", kWakePort, 3, 1);
    const uint64_t t0 = monotonicNowNs();
    expectRun(wakeSyn("192.0.2.70", kWakePort), XDP_PASS,
              {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_EVENT, 1}});
    const auto events = gate().drainWakeEvents();
    ASSERT_EQ(events.size(), 1u);
    const xk_wake_event &e = events[0];
    EXPECT_EQ(e.host, kWakeHost);
    EXPECT_EQ(e.dport, kWakePort);
    EXPECT_EQ(e.range_id, 3u);
    EXPECT_EQ(e.secret_id, 1u);
    EXPECT_EQ(Ipv6Addr(std::to_array(e.saddr)), gateAddr("192.0.2.70"));
    EXPECT_EQ(Ipv6Addr(std::to_array(e.daddr)), gateAddr(kV4Gateway));
    EXPECT_GE(e.time_ns, t0);
}

TEST_F(BpfWake, SecondSynWithinDebounceIsSuppressed) {
    grant("192.0.2.71", kWakePort, 0, 0);
    const Bytes syn = wakeSyn("192.0.2.71", kWakePort);
    expectRun(syn, XDP_PASS, {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_EVENT, 1}});
    expectRun(syn, XDP_PASS, {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_SUPPRESSED, 1}});
    EXPECT_EQ(gate().drainWakeEvents().size(), 1u);
}

TEST_F(BpfWake, SynStormIsOneEvent) {
    grant("192.0.2.72", kWakePort, 0, 0);
    grant("192.0.2.73", kWakePort, 0, 0);
    expectRun(wakeSyn("192.0.2.72", kWakePort), XDP_PASS,
              {{XK_CNT_SYN_PASS, 10000}, {XK_CNT_WAKE_EVENT, 1}, {XK_CNT_WAKE_SUPPRESSED, 9999}},
              10000);
    // The debounce is per host, not per source: another client's SYN is served by it too.
    expectRun(wakeSyn("192.0.2.73", kWakePort), XDP_PASS,
              {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_SUPPRESSED, 1}});
    EXPECT_EQ(gate().drainWakeEvents().size(), 1u);
}

TEST_F(BpfWake, EventAgainAfterDebounceInterval) {
    grant("192.0.2.74", kWakePort, 0, 0);
    const Bytes syn = wakeSyn("192.0.2.74", kWakePort);
    expectRun(syn, XDP_PASS, {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_EVENT, 1}});
    std::this_thread::sleep_for(std::chrono::nanoseconds(XK_WAKE_DEBOUNCE_NS + 50'000'000));
    expectRun(syn, XDP_PASS, {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_EVENT, 1}});
    EXPECT_EQ(gate().drainWakeEvents().size(), 2u);
}

TEST_F(BpfWake, UnauthorizedSynDropsWithoutEvent) {
    expectRun(wakeSyn(kV4Stranger, kWakePort), XDP_DROP, {{XK_CNT_SYN_DROP, 1}});
    // Expired by hand: the store writes live grants only.
    gate().authorize(gateAddr("192.0.2.75"), IPPROTO_TCP, kWakePort,
                     monotonicNowNs() - 1'000'000'000u);
    expectRun(wakeSyn("192.0.2.75", kWakePort), XDP_DROP, {{XK_CNT_SYN_EXPIRED, 1}});
    // A live grant for another port is no grant for this one.
    expectRun(wakeSyn(kV4AuthSsh, kWakePort), XDP_DROP, {{XK_CNT_SYN_DROP, 1}});
    EXPECT_TRUE(gate().drainWakeEvents().empty());
}

TEST_F(BpfWake, SynToServiceWithoutHostEmitsNothing) {
    expectRun(wakeSyn(kV4AuthSsh, kSshPort), XDP_PASS, {{XK_CNT_SYN_PASS, 1}});
    EXPECT_TRUE(gate().drainWakeEvents().empty());
}

TEST_F(BpfWake, EveryPortGrantWakesAndIpv6Too) {
    // kV4AuthAll holds a proto 0 / port 0 grant from the catalog world.
    expectRun(wakeSyn(kV4AuthAll, kWakePort), XDP_PASS,
              {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_EVENT, 1}});
    gate().resetWakeDebounce(kWakeHost);
    grant("2001:db8::70", kWakePort, 2, 0);
    expectRun(wakeSyn("2001:db8::70", kWakePort), XDP_PASS,
              {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_EVENT, 1}});
    const auto events = gate().drainWakeEvents();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(Ipv6Addr(std::to_array(events[1].saddr)), gateAddr("2001:db8::70"));
    EXPECT_EQ(events[1].range_id, 2u);
}

TEST_F(BpfWake, ServiceBoundToAddressWakesOnlyForThatDestination) {
    grant("192.0.2.76", kWakeAddrPort, 0, 0);
    expectRun(wakeSyn("192.0.2.76", kWakeAddrPort), XDP_PASS,
              {{XK_CNT_SYN_PASS, 1}, {XK_CNT_WAKE_EVENT, 1}});
    const auto events = gate().drainWakeEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].host, kWakeAddrHost);
    // Same port, another destination: no binding, and the port itself names no host.
    const Bytes other = PacketBuilder()
                            .eth()
                            .ipv4("192.0.2.76", "198.51.100.9")
                            .tcp(40000, kWakeAddrPort, kTcpSyn)
                            .build();
    expectRun(other, XDP_PASS, {{XK_CNT_SYN_PASS, 1}});
    EXPECT_TRUE(gate().drainWakeEvents().empty());
}

// Not a check: what the wake path costs over a plain authorized SYN (test log only).
TEST_F(BpfWake, CostReport) {
    grant("192.0.2.77", kWakePort, 0, 0);
    const Bytes wake = wakeSyn("192.0.2.77", kWakePort);
    const Bytes plain = wakeSyn(kV4AuthSsh, kSshPort);
    auto median = [](std::vector<uint32_t> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::vector<uint32_t> plainNs, suppressedNs, eventNs, plainSingleNs;
    // Every run must succeed and pass, and each single wake run emit exactly one event:
    // a figure from failed runs would be meaningless.
    auto timed = [](const Bytes &frame, uint32_t repeat) {
        const LoadedGate::Run r = gate().run(frame, repeat);
        EXPECT_EQ(r.err, 0);
        EXPECT_EQ(r.retval, uint32_t(XDP_PASS));
        return r.durationNs;
    };
    for (int i = 0; i < 15; i++) {
        plainNs.push_back(timed(plain, 100000));
        suppressedNs.push_back(timed(wake, 100000));  // debounced storm
    }
    gate().drainWakeEvents();
    for (int i = 0; i < 200; i++) {  // one event per run: the debounce slot is reset first
        gate().resetWakeDebounce(kWakeHost);
        eventNs.push_back(timed(wake, 1));
        ASSERT_EQ(gate().drainWakeEvents().size(), 1u);
        gate().resetWakeDebounce(kWakeHost);  // the same map writes before the baseline
        plainSingleNs.push_back(timed(plain, 1));
    }
    for (const auto &[what, runs] : {std::pair{"plain", &plainNs},
                                     {"suppressed", &suppressedNs},
                                     {"event", &eventNs},
                                     {"single", &plainSingleNs}}) {
        EXPECT_TRUE(std::all_of(runs->begin(), runs->end(), [](uint32_t ns) { return ns > 0; }))
            << what << ": a run that took no time did not run";
    }
    std::printf(
        "wake cost (median ns/SYN): 100000-repeat runs: authorized no-host %u, wake "
        "suppressed %u; single runs: authorized no-host %u, wake event %u\n",
        median(plainNs), median(suppressedNs), median(plainSingleNs), median(eventNs));
}

}  // namespace
}  // namespace xk::test
