// UMEM frames between the kernel, a socket's poller and its extra workers, on a real AF_XDP
// socket behind the gate (a veth pair in a private network namespace; root).
// - The knock -> authorized latency reads XDP's stamp in front of a frame. XDP stamps only
//   some knocks (XK_STAMPS_PER_TICK a tick: a flood is sampled) and the kernel copies no
//   metadata for the others, so a frame must go back to the fill ring without the stamp of
//   its last use: else an unstamped knock landing in it is timed from that earlier packet
//   (the lab flood showed p99s of 50-125 ms that no knock waited).
// - A stalled extra worker (its CPU taken by softirq or a build) must not hold the frames
//   the queue needs: with them all in its inbox, the fill ring is empty and every knock that
//   arrives is dropped although the poller is free to judge it.
#include <gtest/gtest.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bpf/require_root.hpp"
#include "common/packet_builder.hpp"
#include "gate/gate.hpp"
#include "gate/ports.hpp"
#include "policy/config.hpp"
#include "policy/replay_cache.hpp"
#include "workers/worker_pool.hpp"
#include "xsk/xsk_socket.hpp"

namespace xk::workers {
namespace {

using namespace std::chrono_literals;
using xsk::Frame;
using xsk::XskSocket;

constexpr const char *kPeer = "xkframe0", *kGated = "xkframe1";
constexpr uint16_t kPort = 62203;

class SocketFrames : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        static bool ready = [] {  // a veth pair in a namespace of our own
            return unshare(CLONE_NEWNET) == 0 &&
                   system(
                       "ip link add xkframe0 type veth peer name xkframe1 && "
                       "ip link set xkframe0 up && ip link set xkframe1 up") == 0;
        }();
        ASSERT_TRUE(ready);
        // The bpf tests' private root: their stale-root sweep also takes ours if we die.
        root_ = "/sys/fs/bpf/xdpknock-bpftest-" + std::to_string(getpid());
        config_ = policy::parse_config(
            R"({"interfaces": [{"name": "xkframe1"}], "services": [{"name": "ssh", "port": "tcp/22"}],
                "knock_rate": {"per_source_pps": 1000000, "burst": 1000000},
                "ranges": [{"name": "r", "method": "plain", "port": 62203, "open": ["tcp/22"],
                            "secrets": [{"label": "l", "secret": "sssss"}]}]})");
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

    // 64 UMEM frames, `ring` of them in circulation.
    std::unique_ptr<XskSocket> open(uint32_t ring) {
        xsk::XskOptions small;
        small.frames = 64;
        small.ring_size = ring;
        return XskSocket::open(kGated, 0, gate_->xsks_fd(), small);
    }
    void knock(const char *source = "192.0.2.1") {
        const test::Bytes f = test::PacketBuilder()
                                  .eth()
                                  .ipv4(source, "192.0.2.2")
                                  .udp(40000, kPort)
                                  .payload("sssss")
                                  .build();
        ASSERT_EQ(send(tx_, f.data(), f.size(), 0), ssize_t(f.size()));
    }
    // One frame, or false after 3 s.
    static bool receiveOne(XskSocket &sock, Frame &f) {
        for (auto until = std::chrono::steady_clock::now() + 3s;
             std::chrono::steady_clock::now() < until;)
            if (sock.receive(&f, 1, 100) == 1) return true;
        return false;
    }

    std::string root_;
    policy::Config config_;
    std::unique_ptr<gate::Gate> gate_;
    int tx_ = -1;
};

TEST_F(SocketFrames, AFrameGoesBackToTheFillRingWithoutItsStamp) {
    auto sock = open(32);
    knock();
    Frame f{};
    ASSERT_TRUE(receiveOne(*sock, f)) << "the knock never reached the socket";
    ASSERT_NE(XskSocket::rx_ns(f), 0u) << "a knock below the per-tick budget is stamped";
    sock->recycle(&f, 1);
    // The frame is the kernel's again; nothing is sent, so nothing writes it meanwhile.
    EXPECT_EQ(XskSocket::rx_ns(f), 0u)
        << "the frame kept its stamp: an unstamped knock landing in it would be timed from it";
}

TEST_F(SocketFrames, AFrameUsedAgainCarriesItsNewStamp) {
    auto sock = open(32);
    uint64_t last = 0;
    for (int i = 0; i < 40; ++i) {  // more than the ring: frames come round again
        knock();
        Frame f{};
        ASSERT_TRUE(receiveOne(*sock, f)) << "knock " << i;
        const uint64_t stamp = XskSocket::rx_ns(f);
        EXPECT_GT(stamp, last) << "knock " << i << " carries no stamp of its own";
        last = stamp;
        sock->recycle(&f, 1);
    }
}

// Grants at once, except the knock from kStall: its worker waits in grant() until release().
class StallingSink : public GrantSink {
  public:
    static constexpr const char *kStall = "192.0.2.99";
    spa::Reject grant(const policy::Knock &knock, const policy::Decision &) override {
        if (policy::format_address(knock.source) != kStall) return spa::Reject::ok;
        std::unique_lock lock(mu_);
        stalled_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return released_; });
        return spa::Reject::ok;
    }
    bool waitStalled() {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, 3s, [&] { return stalled_; });
    }
    void release() {
        std::lock_guard lock(mu_);
        released_ = true;
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stalled_ = false, released_ = false;
};

TEST_F(SocketFrames, AStalledExtraWorkerLeavesTheQueueFramesToReceiveInto) {
    constexpr uint32_t kRingFrames = 16;
    std::vector<std::unique_ptr<XskSocket>> sockets;
    sockets.push_back(open(kRingFrames));
    const XskSocket &sock = *sockets[0];
    policy::ReplayCache replay("", 240);
    StallingSink sink;
    WorkerPool pool(config_, replay, sink);
    pool.start(std::move(sockets), {2, {}, false});  // the poller and one extra
    ASSERT_EQ(pool.workers(), 2u);
    const auto &poller = pool.stats(0);
    // One knock a batch: the poller judges the first, the extra gets the second and stalls.
    knock();
    for (auto until = std::chrono::steady_clock::now() + 3s;
         poller.accepted.load() < 1 && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(1ms);
    ASSERT_EQ(poller.accepted.load(), 1u);
    knock(StallingSink::kStall);
    ASSERT_TRUE(sink.waitStalled()) << "the second batch never reached the extra worker";

    // Three rings' worth, one at a time: half the turns are the stalled extra's.
    constexpr uint64_t kSent = 3 * kRingFrames;
    for (uint64_t i = 0; i < kSent; ++i) {
        const uint64_t before = poller.frames.load();
        knock();
        // Judged by the poller, or lent to the extra (or lost): wait a little, not more.
        for (auto until = std::chrono::steady_clock::now() + 100ms;
             poller.frames.load() == before && std::chrono::steady_clock::now() < until;)
            std::this_thread::sleep_for(1ms);
    }
    const uint64_t judged = poller.frames.load() - 1;
    const uint64_t dropped = sock.stats().rx_dropped;
    sink.release();
    pool.stop();
    // The extra may hold half the ring; the other knocks are the poller's to judge.
    EXPECT_GE(judged, kSent - kRingFrames / 2)
        << "the poller judged " << judged << " of " << kSent << " (" << dropped
        << " dropped): the stalled extra held the frames the queue needed";
    EXPECT_EQ(dropped, 0u);
}

}  // namespace
}  // namespace xk::workers
