// AF_PACKET knock sockets on a veth pair in a private network namespace (root): what
// reaches them (knocks, byte for byte from the IP header, and nothing else), how a fanout
// group splits sources, the frame pool's limits, and a worker pool judging from them.
#include "packet/packet_socket.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bpf/require_root.hpp"
#include "common/packet_builder.hpp"
#include "policy/config.hpp"
#include "policy/replay_cache.hpp"
#include "workers/worker_pool.hpp"

namespace xk::packet {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using test::PacketBuilder;

constexpr const char *kPeer = "xkpkt0", *kGated = "xkpkt1";
constexpr uint16_t kPort = 62203;
const KnockPorts kPorts{{kPort}, {}, false};

// Before gtest starts a thread: unshare() moves only the calling thread.
const bool kNetns = geteuid() == 0 && unshare(CLONE_NEWNET) == 0 &&
                    system(
                        "ip link add xkpkt0 type veth peer name xkpkt1 && "
                        "ip link set xkpkt0 up && ip link set xkpkt1 up") == 0;

uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

Bytes udp4(const std::string &src, uint16_t dport, std::string_view payload = "sssss",
           uint16_t sport = 40000) {
    return PacketBuilder().eth().ipv4(src, "192.0.2.2").udp(sport, dport).payload(payload).build();
}

class PacketSockets : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        ASSERT_TRUE(kNetns);
        tx_ = socket(AF_PACKET, SOCK_RAW, 0);
        ASSERT_GE(tx_, 0);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(kPeer));
        ASSERT_EQ(bind(tx_, reinterpret_cast<sockaddr *>(&to), sizeof(to)), 0);
        group_ = static_cast<uint16_t>(fanout_group_id(if_nametoindex(kGated)) + ++groups_);
    }
    void TearDown() override {
        if (tx_ >= 0) close(tx_);
    }
    std::unique_ptr<PacketSocket> open(uint32_t member = 0, PacketOptions o = {}) {
        return PacketSocket::open(kGated, member, group_, kPorts, o);
    }
    void send(const Bytes &f) { ASSERT_EQ(::send(tx_, f.data(), f.size(), 0), ssize_t(f.size())); }
    // Frames' bytes until `want` arrived or `wait` passed; each frame recycled.
    static std::vector<Bytes> collect(PacketSocket &s, size_t want, auto wait) {
        std::vector<Bytes> got;
        workers::Frame f[64];
        for (auto until = std::chrono::steady_clock::now() + wait;
             got.size() < want && std::chrono::steady_clock::now() < until;) {
            size_t n = s.receive(f, 64, 20);
            for (size_t i = 0; i < n; ++i) got.emplace_back(f[i].data, f[i].data + f[i].len);
            s.recycle(f, n);
        }
        return got;
    }

    int tx_ = -1;
    uint16_t group_ = 0;
    static inline uint16_t groups_ = 0;  // a fresh group a test: no member left over
};

TEST_F(PacketSockets, AUdpKnockArrivesFromItsIpHeader) {
    auto s = open();
    const Bytes v4 = udp4("192.0.2.1", kPort);
    const Bytes v6 = PacketBuilder()
                         .eth()
                         .ipv6("2001:db8::1", "2001:db8::2")
                         .udp(40000, kPort)
                         .payload("k6")
                         .build();
    const uint64_t before = monotonic_ns();
    send(v4);
    workers::Frame f{};
    for (auto until = std::chrono::steady_clock::now() + 3s;
         std::chrono::steady_clock::now() < until && s->receive(&f, 1, 100) == 0;) {
    }
    ASSERT_EQ(Bytes(f.data, f.data + f.len), Bytes(v4.begin() + 14, v4.end()));
    EXPECT_GE(f.rx_ns + 1000000, before) << "a monotonic stamp (to a ms of clock conversion)";
    EXPECT_LE(f.rx_ns, monotonic_ns());
    s->recycle(&f, 1);
    send(v6);
    auto got = collect(*s, 1, 3s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], Bytes(v6.begin() + 14, v6.end()));
}

TEST_F(PacketSockets, OtherPortsTcpAndOwnPacketsDoNotArrive) {
    auto s = open();
    // The sender's side, where the knocks are outgoing (a group is per interface).
    auto own = PacketSocket::open(kPeer, 0, static_cast<uint16_t>(group_ ^ 0x8000), kPorts);
    send(udp4("192.0.2.1", kPort + 1));
    send(PacketBuilder()
             .eth()
             .ipv4("192.0.2.1", "192.0.2.2")
             .tcp(40000, kPort, test::kTcpSyn)
             .build());
    const Bytes marker = udp4("192.0.2.9", kPort, "marker");
    send(marker);
    auto got = collect(*s, 2, 500ms);
    ASSERT_EQ(got.size(), 1u) << "only the marker is a knock";
    EXPECT_EQ(got[0], Bytes(marker.begin() + 14, marker.end()));
    EXPECT_TRUE(collect(*own, 1, 200ms).empty()) << "a packet this host sent is no knock";
}

TEST_F(PacketSockets, TcprawSynsAndIcmpEchoesArriveWhereRangesTakeThem) {
    const KnockPorts ports{{}, {kPort}, true};
    auto s = PacketSocket::open(kGated, 0, group_, ports, {});
    const auto tcp = [](uint8_t flags) {
        return PacketBuilder()
            .eth()
            .ipv4("192.0.2.1", "192.0.2.2")
            .tcp(40000, kPort, flags)
            .build();
    };
    send(tcp(test::kTcpSyn | test::kTcpAck));
    send(udp4("192.0.2.1", kPort));  // no UDP port configured
    const Bytes syn = tcp(test::kTcpSyn);
    const Bytes echo =
        PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").icmp(128).payload("k").build();
    send(syn);
    send(echo);
    auto got = collect(*s, 3, 500ms);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], Bytes(syn.begin() + 14, syn.end()));
    EXPECT_EQ(got[1], Bytes(echo.begin() + 14, echo.end()));
}

// PACKET_FANOUT_FLAG_DEFRAG: a knock sent in fragments reaches the socket whole.
TEST_F(PacketSockets, AFragmentedKnockArrivesReassembled) {
    auto s = open();
    const Bytes whole = udp4("192.0.2.1", kPort, std::string(40, 'f'));
    const Bytes l4(whole.begin() + 14 + 20, whole.end());  // UDP header and payload
    test::Ipv4Options first, second;
    first.id = second.id = 7;
    first.moreFragments = true;
    second.fragOffset = 24;
    const auto part = [&](const test::Ipv4Options &o, size_t from, size_t to) {
        return PacketBuilder()
            .eth()
            .ipv4("192.0.2.1", "192.0.2.2", o)
            .l4Raw(17, std::span(l4).subspan(from, to - from))
            .build();
    };
    send(part(first, 0, 24));
    send(part(second, 24, l4.size()));
    auto got = collect(*s, 1, 1s);
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].size(), 20 + l4.size());
    EXPECT_EQ(Bytes(got[0].begin() + 20, got[0].end()), l4);
}

TEST_F(PacketSockets, FanoutMembersSplitSourcesAndTogetherSeeEveryKnock) {
    auto a = open(0), b = open(1);
    EXPECT_EQ(a->queue(), 0u);
    EXPECT_EQ(b->queue(), 1u);
    constexpr int kSources = 64, kEach = 3;
    for (int k = 0; k < kEach; ++k)
        for (int i = 1; i <= kSources; ++i) send(udp4("192.0.2." + std::to_string(i), kPort));
    std::map<Bytes, int> member_of;  // a source's address -> the member that saw it
    size_t seen[2] = {0, 0};
    PacketSocket *m[2] = {a.get(), b.get()};
    for (auto until = std::chrono::steady_clock::now() + 3s;
         seen[0] + seen[1] < kSources * kEach && std::chrono::steady_clock::now() < until;) {
        for (int j = 0; j < 2; ++j) {
            for (const Bytes &f : collect(*m[j], 1, 10ms)) {
                const Bytes src(f.begin() + 12, f.begin() + 16);
                auto [it, fresh] = member_of.emplace(src, j);
                EXPECT_EQ(it->second, j) << "one source's knocks reached both members";
                ++seen[j];
            }
        }
    }
    EXPECT_EQ(seen[0] + seen[1], size_t{kSources * kEach});
    EXPECT_EQ(member_of.size(), size_t{kSources});
    EXPECT_GT(seen[0], 0u);
    EXPECT_GT(seen[1], 0u);
}

TEST_F(PacketSockets, AnEmptyPoolDropsAndCountsUntilFramesComeBack) {
    PacketOptions small;
    small.pool_frames = 4;
    auto s = open(0, small);
    EXPECT_EQ(s->ring_frames(), 4u);
    for (int i = 0; i < 6; ++i) send(udp4("192.0.2.1", kPort));
    workers::Frame held[64];
    size_t n = 0;
    for (auto until = std::chrono::steady_clock::now() + 1s;
         std::chrono::steady_clock::now() < until && s->stats().fill_empty < 2;)
        n += s->receive(held + n, 64 - n, 20);
    EXPECT_EQ(n, 4u);
    EXPECT_EQ(s->stats().fill_empty, 2u);
    for (size_t i = 1; i < n; ++i) EXPECT_NE(held[i].data, held[0].data) << "slots are distinct";
    s->recycle(held, n);
    for (int i = 0; i < 4; ++i) send(udp4("192.0.2.1", kPort));
    EXPECT_EQ(collect(*s, 4, 2s).size(), 4u) << "recycled slots take knocks again";
    EXPECT_EQ(s->stats().fill_empty, 2u);
}

TEST_F(PacketSockets, AFrameLongerThanASlotIsDroppedAndCounted) {
    PacketOptions small;
    small.frame_size = 128;
    auto s = open(0, small);
    send(udp4("192.0.2.1", kPort, std::string(200, 'x')));
    send(udp4("192.0.2.1", kPort, "short"));
    auto got = collect(*s, 2, 500ms);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].size(), 20u + 8u + 5u);
    EXPECT_EQ(s->stats().rx_invalid, 1u);
    EXPECT_EQ(s->stats().rx_dropped, 0u);
}

struct CountingSink : workers::GrantSink {
    spa::Reject grant(const policy::Knock &, const policy::Decision &) override {
        return spa::Reject::ok;
    }
};

TEST_F(PacketSockets, AWorkerPoolJudgesKnocksFromPacketSockets) {
    const policy::Config config = policy::parse_config(
        R"({"interfaces": [{"name": "xkpkt1"}], "services": [{"name": "ssh", "port": "tcp/22"}],
            "ranges": [{"name": "r", "method": "plain", "port": 62203, "open": ["tcp/22"],
                        "secrets": [{"label": "l", "secret": "sssss"}]}]})");
    std::vector<std::unique_ptr<PacketSocket>> sockets;
    sockets.push_back(open(0));
    sockets.push_back(open(1));
    policy::ReplayCache replay("", 240);
    CountingSink sink;
    workers::WorkerPool pool(config, replay, sink);
    pool.start(std::move(sockets), {4, {}, true});  // frames start at the IP header
    ASSERT_EQ(pool.size(), 2u);
    EXPECT_EQ(pool.socket(1).queue(), 1u);
    constexpr int kKnocks = 16;
    for (int i = 1; i <= kKnocks; ++i) send(udp4("192.0.2." + std::to_string(i), kPort));
    send(PacketBuilder()
             .eth()
             .ipv6("2001:db8::1", "2001:db8::2")
             .udp(40000, kPort)
             .payload("sssss")
             .build());
    send(udp4("192.0.2.99", kPort, "wrong"));
    auto total = [&](auto field) {
        uint64_t n = 0;
        for (size_t w = 0; w < pool.workers(); ++w) n += field(pool.stats(w));
        return n;
    };
    auto accepted = [&] { return total([](const auto &s) { return s.accepted.load(); }); };
    for (auto until = std::chrono::steady_clock::now() + 3s;
         accepted() < kKnocks + 1 && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(50ms);
    pool.stop();
    EXPECT_EQ(accepted(), uint64_t{kKnocks + 1}) << "v4 and v6 knocks, each granted once";
    EXPECT_EQ(total([](const auto &s) { return s.frames.load(); }), uint64_t{kKnocks + 2});
    workers::LatencyHistogram::Counts counts{};
    for (size_t w = 0; w < pool.workers(); ++w) pool.latency(w).add_to(counts);
    uint64_t timed = 0;
    for (uint64_t c : counts) timed += c;
    EXPECT_EQ(timed, uint64_t{kKnocks + 1}) << "every grant timed from the ring's stamp";
}

}  // namespace
}  // namespace xk::packet
