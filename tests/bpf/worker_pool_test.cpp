// The worker pool's frame accounting on a real AF_XDP socket: one poller and two extra
// workers behind a UMEM of 32 fill frames, fed from the peer of a veth pair in a private
// network namespace. A frame the pool never hands back starves the fill ring (knocks
// are then lost), one handed back twice jams recycle() (nothing more is judged), one
// judged twice shows in the count; and stop() returns with the extras asleep.
// No seam lets the pool run without sockets (WorkerPool::start takes xsk::XskSocket).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/packet_builder.hpp"
#include "gate/gate.hpp"
#include "gate/ports.hpp"
#include "policy/replay_cache.hpp"
#include "require_root.hpp"
#include "workers/worker_pool.hpp"
#include "xsk/xsk_socket.hpp"

namespace xk::workers {
namespace {

using namespace std::chrono_literals;

constexpr const char *kPeer = "xkpool0", *kGated = "xkpool1";
constexpr uint16_t kPort = 62202;
constexpr uint32_t kFillFrames = 32;  // XskOptions{64, 32}: half the UMEM in the fill ring

// One plain range; knocks of the secret's length get through the pre-filter, and the
// bucket is wide enough never to drop one of ours.
policy::Config poolConfig() {
    return policy::parse_config(
        R"({"interfaces": [{"name": "xkpool1"}], "services": [{"name": "ssh", "port": "tcp/22"}],
            "knock_rate": {"per_source_pps": 1000000, "burst": 1000000},
            "ranges": [{"name": "r", "method": "plain", "port": 62202, "open": ["tcp/22"],
                        "secrets": [{"label": "l", "secret": "sssss"}]}]})");
}

struct CountingSink : GrantSink {
    spa::Reject grant(const policy::Knock &, const policy::Decision &) override {
        return spa::Reject::ok;
    }
};

class WorkerPoolFrames : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        static bool ready = [] {  // a veth pair in a namespace of our own
            return unshare(CLONE_NEWNET) == 0 &&
                   system(
                       "ip link add xkpool0 type veth peer name xkpool1 && "
                       "ip link set xkpool0 up && ip link set xkpool1 up") == 0;
        }();
        ASSERT_TRUE(ready);
        // The bpf tests' private root: their stale-root sweep also takes ours if we die.
        root_ = "/sys/fs/bpf/xdpknock-bpftest-" + std::to_string(getpid());
        config_ = poolConfig();
        gate_ =
            gate::Gate::attach({kGated, policy::XdpMode::generic, root_, 65536, 7200},
                               [&](gate::Gate &g) { gate::write_ports(g.ports_fd(), config_); });
        tx_ = socket(AF_PACKET, SOCK_RAW, 0);
        ASSERT_GE(tx_, 0);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(kPeer));
        ASSERT_EQ(bind(tx_, reinterpret_cast<sockaddr *>(&to), sizeof(to)), 0);
    }
    void TearDown() override {
        if (tx_ >= 0) close(tx_);
        gate_.reset();
        if (!root_.empty()) {
            gate::detach(root_, kGated);
            std::filesystem::remove_all(root_);
        }
    }

    static uint64_t judged(const WorkerPool &pool) {
        uint64_t n = 0;
        for (size_t w = 0; w < pool.workers(); ++w) n += pool.stats(w).frames.load();
        return n;
    }
    // Waits until the pool has judged `want` frames; false after 3 s without progress.
    static bool judgedReaches(const WorkerPool &pool, uint64_t want) {
        for (auto until = std::chrono::steady_clock::now() + 3s;
             std::chrono::steady_clock::now() < until;) {
            if (judged(pool) >= want) return true;
            std::this_thread::sleep_for(200us);
        }
        return false;
    }

    std::string root_;
    policy::Config config_;
    std::unique_ptr<gate::Gate> gate_;
    int tx_ = -1;
};

TEST_F(WorkerPoolFrames, EveryFrameJudgedOnceAndReturnedToTheFillRing) {
    xsk::XskOptions small;
    small.frames = 2 * kFillFrames;
    small.ring_size = kFillFrames;
    std::vector<std::unique_ptr<xsk::XskSocket>> sockets;
    sockets.push_back(xsk::XskSocket::open(kGated, 0, gate_->xsks_fd(), small));
    const xsk::XskSocket *sock = sockets[0].get();
    policy::ReplayCache replay("", 240);
    CountingSink sink;
    WorkerPool pool(config_, replay, sink);
    pool.start(std::move(sockets), {3, {}, false});
    ASSERT_EQ(pool.workers(), 3u);

    // Bursts of half the fill ring: each fits only if the frames before came back.
    const test::Bytes knock = test::PacketBuilder()
                                  .eth()
                                  .ipv4("192.0.2.1", "192.0.2.2")
                                  .udp(40000, kPort)
                                  .payload("ppppp")
                                  .build();
    constexpr uint64_t kBursts = 400, kBurst = kFillFrames / 2;
    uint64_t sent = 0;
    for (uint64_t b = 0; b < kBursts; ++b) {
        for (uint64_t i = 0; i < kBurst; ++i, ++sent)
            ASSERT_EQ(send(tx_, knock.data(), knock.size(), 0), ssize_t(knock.size()));
        ASSERT_TRUE(judgedReaches(pool, sent))
            << "judged " << judged(pool) << " of " << sent << " (fill_empty "
            << sock->stats().fill_empty << ", rx_dropped " << sock->stats().rx_dropped << ")";
        // An extra's frames reach the fill ring through the poller's next pass, a moment
        // after they are counted judged: the next burst waits for that (TSan runs slow).
        std::this_thread::sleep_for(2ms);
    }
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(judged(pool), sent) << "a frame was judged twice";
    EXPECT_EQ(sock->stats().fill_empty, 0u);
    EXPECT_EQ(sock->stats().rx_dropped, 0u);
    for (size_t w = 1; w < pool.workers(); ++w)
        EXPECT_GT(pool.stats(w).frames.load(), 0u) << "extra worker " << w << " got no batch";

    // The extras sleep on empty inboxes: only the stop wake ends them. A stop that never
    // returns would hang the test past any assertion, so a watchdog names it and aborts.
    std::atomic<bool> stopped{false};
    std::thread watchdog([&] {
        for (int i = 0; i < 1000 && !stopped; ++i) std::this_thread::sleep_for(10ms);
        if (stopped) return;
        std::fprintf(stderr, "WorkerPool::stop() hung: an idle extra worker was never woken\n");
        std::abort();
    });
    pool.stop();
    stopped = true;
    watchdog.join();
}

}  // namespace
}  // namespace xk::workers
