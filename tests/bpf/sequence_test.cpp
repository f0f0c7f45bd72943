// Method "sequence" (knockd's port knocking) judged in the XDP program, through
// BPF_PROG_TEST_RUN on the production loader: ordered hits within seq_timeout complete
// (one seq_events record for userspace), anything else does not; every hit is dropped.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gate/pins.hpp"
#include "gate/ports.hpp"
#include "gate/sequences.hpp"
#include "gate_frames.hpp"
#include "loaded_gate.hpp"
#include "require_root.hpp"

namespace xk::test {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint16_t kPeerPort = 41000;
// seq_index -> range id: range 0 is a plain knock range, so the two differ.
constexpr uint32_t kSeq = 0, kSeqRange = 1;          // tcp/7000, udp/8000, tcp/9000; syn,!ack; 5 s
constexpr uint32_t kShared = 1, kSharedRange = 2;    // tcp/9000, tcp/7001: shares tcp/9000
constexpr uint32_t kOneTime = 2, kOneTimeRange = 3;  // 7100,7101 then 7200:udp,7201
constexpr uint32_t kSingle = 3, kSingleRange = 4;    // udp/7300

std::string oneTimeFile() {
    static const std::string path = [] {
        std::string p = "/tmp/xk-seq-test-" + std::to_string(getpid()) + ".txt";
        std::ofstream(p) << "# knockd's format\n7100,7101\n7200:udp,7201\n";
        return p;
    }();
    return path;
}

std::string configJson() {
    return R"({"interfaces": [{"name": "xktest0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [
        {"name": "plain", "method": "plain", "port": 62202, "open": ["tcp/22"],
         "secrets": [{"label": "a", "secret": "sssss"}]},
        {"name": "seq", "method": "sequence", "sequence": ["tcp/7000", "udp/8000", "tcp/9000"],
         "seq_timeout": 5, "tcp_flags": "syn,!ack", "open": ["tcp/22"]},
        {"name": "shared", "method": "sequence", "sequence": ["tcp/9000", "tcp/7001"],
         "open": ["tcp/22"]},
        {"name": "onetime", "method": "sequence", "one_time_sequences": ")" +
           oneTimeFile() + R"(", "open": ["tcp/22"]},
        {"name": "single", "method": "sequence", "sequence": ["udp/7300"], "open": ["tcp/22"]}
      ]})";
}

const policy::Config &config() {
    static const policy::Config c = [] {
        policy::Config parsed = policy::parse_config(configJson());
        std::remove(oneTimeFile().c_str());  // read at parse: its lines are in the config
        return parsed;
    }();
    return c;
}

LoadedGate &gate() {
    static std::unique_ptr<LoadedGate> g;
    if (!g) {
        auto fresh = std::make_unique<LoadedGate>();
        fresh->writeConfig(config());
        g = std::move(fresh);
    }
    return *g;
}

Bytes tcp(std::string_view src, uint16_t port, uint8_t flags = kTcpSyn) {
    PacketBuilder b = PacketBuilder().eth();
    if (src.find(':') != std::string_view::npos)
        b.ipv6(src, kV6Gateway);
    else
        b.ipv4(src, kV4Gateway);
    return b.tcp(kPeerPort, port, flags).build();
}

Bytes udp(std::string_view src, uint16_t port) {
    return PacketBuilder().eth().ipv4(src, kV4Gateway).udp(kPeerPort, port).build();
}

class Sequence : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        gate().writeConfig(config());  // undoes a test's write_sequence
        gate().clearSeqState();
        gate().drainSeqEvents();
    }

    // Runs once; the frame is dropped and `counter` alone moved, by one.
    static void hit(const Bytes &frame, uint32_t counter) {
        const Counters before = gate().counters();
        const LoadedGate::Run r = gate().run(frame);
        const Counters after = gate().counters();
        ASSERT_EQ(r.err, 0);
        EXPECT_EQ(r.retval, uint32_t(XDP_DROP)) << actionName(r.retval);
        for (uint32_t i = 0; i < XK_CNT__MAX; i++)
            EXPECT_EQ(after[i] - before[i], i == counter ? 1u : 0u) << counterName(i);
    }

    static std::vector<xk_seq_event> events() { return gate().drainSeqEvents(); }

    // The whole "seq" sequence from src, completing it.
    static void knockSeq(std::string_view src) {
        hit(tcp(src, 7000), XK_CNT_SEQ_STEP);
        hit(udp(src, 8000), XK_CNT_SEQ_STEP);
        hit(tcp(src, 9000), XK_CNT_SEQ_DONE);
    }

    static void expectOneEvent(std::string_view src, uint32_t rangeId, uint32_t generation = 0) {
        const auto ev = events();
        ASSERT_EQ(ev.size(), 1u);
        const Ipv6Addr a = gateAddr(src);
        EXPECT_EQ(0, std::memcmp(ev[0].saddr, a.data(), 16));
        EXPECT_EQ(ev[0].range_id, rangeId);
        EXPECT_EQ(ev[0].generation, generation);
        EXPECT_GT(ev[0].time_ns, 0u);
    }

    static void setSequence(uint32_t seqIndex, uint32_t rangeId, gate::SeqCurrent current) {
        gate::write_sequence(gate().gate(), seqIndex, rangeId, config().ranges[rangeId], current);
    }
};

TEST_F(Sequence, InOrderCompletesWithOneEvent) {
    const uint64_t t0 = monotonicNowNs();
    knockSeq("192.0.2.50");
    expectOneEvent("192.0.2.50", kSeqRange);
    // Done: the progress goes; tcp/9000 also started "shared", which shares it.
    EXPECT_FALSE(gate().seqState(gateAddr("192.0.2.50"), kSeq));
    const auto shared = gate().seqState(gateAddr("192.0.2.50"), kShared);
    ASSERT_TRUE(shared);
    EXPECT_EQ(shared->next, 1u);
    EXPECT_GE(shared->first_ns + 20'000'000, t0);  // the tick's clock: at most a tick behind
}

TEST_F(Sequence, WrongOrderDoesNotComplete) {
    const std::string_view a = "192.0.2.51";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    hit(tcp(a, 9000), XK_CNT_SEQ_STEP);  // resets "seq" (gone), starts "shared"
    EXPECT_FALSE(gate().seqState(gateAddr(a), kSeq));
    hit(udp(a, 8000), XK_CNT_SEQ_MISS);
    hit(tcp(a, 9000), XK_CNT_SEQ_MISS);  // "shared": the step just matched, ignored
    EXPECT_TRUE(events().empty());
}

TEST_F(Sequence, TimeoutCountsFromTheFirstHit) {
    const std::string_view late = "192.0.2.52", onTime = "192.0.2.53";
    const uint64_t now = monotonicNowNs();
    // Two steps made, the first 6 s ago (timeout 5 s): the progress is gone.
    gate().setSeqState(gateAddr(late), kSeq, {now - 6 * kSecond, 2, 0});
    hit(tcp(late, 9000), XK_CNT_SEQ_STEP);  // only "shared" starts
    EXPECT_TRUE(events().empty());
    EXPECT_FALSE(gate().seqState(gateAddr(late), kSeq));
    // 4 s ago: still in time.
    gate().setSeqState(gateAddr(onTime), kSeq, {now - 4 * kSecond, 2, 0});
    hit(tcp(onTime, 9000), XK_CNT_SEQ_DONE);
    expectOneEvent(onTime, kSeqRange);
}

TEST_F(Sequence, ExpiredProgressRestartsOnTheFirstStep) {
    const std::string_view a = "192.0.2.54";
    gate().setSeqState(gateAddr(a), kSeq, {monotonicNowNs() - 60 * kSecond, 2, 0});
    knockSeq(a);
    expectOneEvent(a, kSeqRange);
}

TEST_F(Sequence, AWrongHitResets) {
    const std::string_view a = "192.0.2.55";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    hit(udp(a, 8000), XK_CNT_SEQ_STEP);
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);  // the first step again: starts over at step two
    EXPECT_EQ(gate().seqState(gateAddr(a), kSeq)->next, 1u);
    hit(tcp(a, 9000), XK_CNT_SEQ_STEP);  // expected udp/8000: reset ("shared" starts)
    EXPECT_FALSE(gate().seqState(gateAddr(a), kSeq));
    EXPECT_TRUE(events().empty());
    knockSeq(a);  // from scratch: works
    expectOneEvent(a, kSeqRange);
}

TEST_F(Sequence, RepeatedSynToTheStepJustMatchedIsIgnored) {
    const std::string_view a = "192.0.2.56";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    const auto first = gate().seqState(gateAddr(a), kSeq);
    ASSERT_TRUE(first);
    hit(tcp(a, 7000), XK_CNT_SEQ_MISS);  // retransmitted SYN: no reset, no restart
    EXPECT_EQ(gate().seqState(gateAddr(a), kSeq)->next, 1u);
    EXPECT_EQ(gate().seqState(gateAddr(a), kSeq)->first_ns, first->first_ns);
    hit(udp(a, 8000), XK_CNT_SEQ_STEP);
    hit(udp(a, 8000), XK_CNT_SEQ_MISS);
    hit(tcp(a, 9000), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kSeqRange);
}

TEST_F(Sequence, AnotherSourcesHitsAreIndependent) {
    const std::string_view a = "192.0.2.57", b = "192.0.2.58";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    hit(tcp(b, 7000), XK_CNT_SEQ_STEP);
    hit(tcp(b, 9000), XK_CNT_SEQ_STEP);  // b's reset, "shared" for b
    hit(udp(a, 8000), XK_CNT_SEQ_STEP);
    hit(udp(b, 8000), XK_CNT_SEQ_MISS);
    hit(tcp(a, 9000), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kSeqRange);
}

TEST_F(Sequence, TcpFlagsFilterIgnoresOtherPackets) {
    const std::string_view a = "192.0.2.59";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    hit(udp(a, 8000), XK_CNT_SEQ_STEP);
    // syn,!ack: a SYN+ACK, an ACK or a RST neither advances nor resets "seq"; "shared" has
    // no filter, so its first step counts them.
    hit(tcp(a, 9000, kTcpSyn | kTcpAck), XK_CNT_SEQ_STEP);
    hit(tcp(a, 7000, kTcpAck), XK_CNT_SEQ_MISS);
    hit(tcp(a, 7000, kTcpRst), XK_CNT_SEQ_MISS);
    EXPECT_EQ(gate().seqState(gateAddr(a), kSeq)->next, 2u);
    EXPECT_TRUE(events().empty());
    hit(tcp(a, 9000, kTcpSyn), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kSeqRange);
}

TEST_F(Sequence, Ipv6Source) {
    const std::string_view a = "2001:db8::50";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    hit(PacketBuilder().eth().ipv6(a, kV6Gateway).udp(kPeerPort, 8000).build(), XK_CNT_SEQ_STEP);
    hit(tcp(a, 9000), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kSeqRange);
}

TEST_F(Sequence, VlanTaggedFrames) {
    const std::string_view a = "192.0.2.60";
    auto tagged = [&] { return PacketBuilder().eth().vlan(10).ipv4(a, kV4Gateway); };
    hit(tagged().tcp(kPeerPort, 7000, kTcpSyn).build(), XK_CNT_SEQ_STEP);
    hit(PacketBuilder().eth().vlan(10).vlan(20).ipv4(a, kV4Gateway).udp(kPeerPort, 8000).build(),
        XK_CNT_SEQ_STEP);
    hit(tagged().tcp(kPeerPort, 9000, kTcpSyn).build(), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kSeqRange);
}

TEST_F(Sequence, UdpOnlySequenceOfOneStep) {
    hit(udp("192.0.2.61", 7300), XK_CNT_SEQ_DONE);
    expectOneEvent("192.0.2.61", kSingleRange);
    // Same port number, other protocol: not a step; the gate leaves it alone.
    const LoadedGate::Run r = gate().run(tcp("192.0.2.61", 7300));
    EXPECT_EQ(r.retval, uint32_t(XDP_PASS));
    EXPECT_TRUE(events().empty());
}

TEST_F(Sequence, EveryStepPortDropsEveryPacket) {
    // A scan (SYN, ACK, FIN, Xmas, UDP) of the sequence ports from a stranger: all dropped.
    for (uint16_t port : {7000, 9000, 7001, 7100, 7101, 7201}) {
        for (uint8_t flags : {kTcpSyn, kTcpAck, kTcpFin, uint8_t(kTcpFin | kTcpPsh | kTcpUrg)}) {
            const LoadedGate::Run r = gate().run(tcp("198.18.0.1", port, flags));
            EXPECT_EQ(r.retval, uint32_t(XDP_DROP)) << port << " flags " << int(flags);
        }
    }
    for (uint16_t port : {8000, 7200, 7300})
        EXPECT_EQ(gate().run(udp("198.18.0.1", port)).retval, uint32_t(XDP_DROP)) << port;
}

TEST_F(Sequence, RangeWithoutStepsTakesNothing) {
    setSequence(kSingle, kSingleRange, {});  // every one-time sequence used, say
    hit(udp("192.0.2.62", 7300), XK_CNT_SEQ_MISS);
    EXPECT_TRUE(events().empty());
    EXPECT_FALSE(gate().seqState(gateAddr("192.0.2.62"), kSingle));
}

TEST_F(Sequence, GenerationChangeRestartsProgress) {
    const std::string_view a = "192.0.2.63";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    hit(udp(a, 8000), XK_CNT_SEQ_STEP);
    setSequence(kSeq, kSeqRange, {config().ranges[kSeqRange].sequence.steps, 1});
    hit(tcp(a, 9000), XK_CNT_SEQ_STEP);  // old generation's progress: none ("shared" starts)
    EXPECT_TRUE(events().empty());
    knockSeq(a);
    expectOneEvent(a, kSeqRange, 1);
}

TEST_F(Sequence, OneTimeSequencesSwapAtRunTime) {
    const std::string_view a = "192.0.2.64";
    hit(tcp(a, 7100), XK_CNT_SEQ_STEP);
    hit(tcp(a, 7101), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kOneTimeRange, 0);
    // The daemon consumes line one: line two is current, under a new generation.
    const auto &lines = config().ranges[kOneTimeRange].sequence.one_time;
    setSequence(kOneTime, kOneTimeRange, {lines[1], 1});
    hit(tcp(a, 7100), XK_CNT_SEQ_MISS);
    hit(tcp(a, 7101), XK_CNT_SEQ_MISS);
    EXPECT_TRUE(events().empty());
    hit(udp(a, 7200), XK_CNT_SEQ_STEP);
    hit(tcp(a, 7101), XK_CNT_SEQ_MISS);  // a used line's port: not a step now, no reset
    hit(tcp(a, 7201), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kOneTimeRange, 1);
    setSequence(kOneTime, kOneTimeRange, {{}, 2});  // all used
    hit(udp(a, 7200), XK_CNT_SEQ_MISS);
    hit(tcp(a, 7201), XK_CNT_SEQ_MISS);
    EXPECT_TRUE(events().empty());
}

TEST_F(Sequence, FullRingCountsLostAndKeepsTheLastStep) {
    // 40 bytes a record (header included): a 256 KiB ring holds 6553.
    const uint32_t runs = XK_SEQ_RING_BYTES / 40 + 100;
    const Counters before = gate().counters();
    const LoadedGate::Run r = gate().run(udp("192.0.2.65", 7300), runs);
    const Counters after = gate().counters();
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.retval, uint32_t(XDP_DROP));
    const uint64_t done = after[XK_CNT_SEQ_DONE] - before[XK_CNT_SEQ_DONE];
    const uint64_t lost = after[XK_CNT_SEQ_LOST] - before[XK_CNT_SEQ_LOST];
    EXPECT_EQ(done + lost, runs);
    EXPECT_GT(lost, 0u);
    // Still full: a longer sequence's completion is lost too, and its progress kept one
    // step short, so its last hit sent again completes once there is room.
    const std::string_view a = "192.0.2.66";
    hit(tcp(a, 7000), XK_CNT_SEQ_STEP);
    hit(udp(a, 8000), XK_CNT_SEQ_STEP);
    hit(tcp(a, 9000), XK_CNT_SEQ_LOST);
    EXPECT_EQ(gate().seqState(gateAddr(a), kSeq)->next, 2u);
    EXPECT_EQ(events().size(), done);  // drained: room again
    hit(tcp(a, 9000), XK_CNT_SEQ_DONE);
    expectOneEvent(a, kSeqRange);
}

// The program's instructions after the verifier: the pruned sequence code is gone.
uint32_t xlatedLength(int progFd) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(progFd, &info, &len), 0);
    return info.xlated_prog_len;
}

TEST(SequenceCode, LoadedWithoutItStepPortsAreStillDropped) {
    XK_REQUIRE_ROOT();
    gate::GateOptions options;
    options.ifname = "xkseq-nocode";
    options.pin_root = "/sys/fs/bpf/xk-seqtest-" + std::to_string(getpid());
    options.sequences = false;
    auto bare = gate::Gate::load(options);
    gate::write_ports(bare->ports_fd(), config());
    const Bytes frame = tcp("192.0.2.70", 7000);
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(),
                .data_size_in = uint32_t(frame.size()));
    ASSERT_EQ(bpf_prog_test_run_opts(bare->prog_fd(), &run), 0);
    EXPECT_EQ(run.retval, uint32_t(XDP_DROP));  // a reload added sequences: silent, not open
    const gate::Counters c = gate::read_counters(bare->counters_fd());
    EXPECT_EQ(c[XK_CNT_SEQ_MISS], 1u);
    EXPECT_LT(xlatedLength(bare->prog_fd()), xlatedLength(gate().gate().prog_fd()));
    const std::string dir = bare->pin_dir();
    bare.reset();
    gate::remove_pins(dir);
    rmdir(options.pin_root.c_str());
}

}  // namespace
}  // namespace xk::test
