// The authorized map's pre-filter (maps.h: auth_filter; auth/auth_filter.hpp): the gate
// drops a stranger's SYN on the filter's word, but a key the map holds is never denied —
// whatever wrote it, and whenever the owner rebuilds the filter.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth_filter.hpp"
#include "auth/authorized.hpp"
#include "gate_frames.hpp"
#include "loaded_gate.hpp"
#include "policy/address.hpp"
#include "require_root.hpp"

namespace xk::test {
namespace {

using namespace std::chrono_literals;
using auth::AuthFilter;

constexpr uint64_t kSecond = 1'000'000'000ull;

xk_auth_key sshKey(std::string_view addr) {
    xk_auth_key k{};
    const Ipv6Addr a = gateAddr(addr);
    std::memcpy(k.addr, a.data(), sizeof(k.addr));
    k.proto = IPPROTO_TCP;
    k.port = kSshPort;
    return k;
}

Bytes syn(std::string_view src) {
    return PacketBuilder().eth().ipv4(src, kV4Gateway).tcp(40000, kSshPort, kTcpSyn).build();
}

Bytes ack(std::string_view src) {
    return PacketBuilder().eth().ipv4(src, kV4Gateway).tcp(40000, kSshPort, kTcpAck).build();
}

// Runs the frame once on g; expects the action and that `counter` alone moved by one.
void expectVerdict(LoadedGate &g, const Bytes &frame, uint32_t action, uint32_t counter) {
    const Counters before = g.counters();
    const LoadedGate::Run r = g.run(frame);
    const Counters after = g.counters();
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.retval, action) << actionName(r.retval) << " vs " << actionName(action);
    for (uint32_t i = 0; i < XK_CNT__MAX; i++)
        EXPECT_EQ(after[i] - before[i], i == counter ? 1u : 0u) << counterName(i);
}

// A key in the authorized map written the way no store writes it: no filter bits.
void writeBehindTheFilter(LoadedGate &g, const xk_auth_key &k) {
    const xk_auth_value v{monotonicNowNs() + 3600 * kSecond, 0, 0};
    ASSERT_EQ(bpf_map_update_elem(g.gate().authorized_fd(), &k, &v, BPF_ANY), 0);
}

class BpfFilter : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        gate_ = std::make_unique<LoadedGate>();
        gate_->installCatalogWorld();
    }
    LoadedGate &gate() { return *gate_; }
    std::unique_ptr<LoadedGate> gate_;
};

TEST_F(BpfFilter, GrantedSourcePassesAndStrangerDrops) {
    ASSERT_TRUE(gate().filter().ready()) << "the store builds the filter it owns";
    gate().grant("192.0.2.160", {IPPROTO_TCP, kSshPort}, 60);
    EXPECT_TRUE(gate().filter().may_hold(sshKey("192.0.2.160")));
    expectVerdict(gate(), syn("192.0.2.160"), XDP_PASS, XK_CNT_SYN_PASS);
    EXPECT_FALSE(gate().filter().may_hold(sshKey(kV4Stranger)));
    expectVerdict(gate(), syn(kV4Stranger), XDP_DROP, XK_CNT_SYN_DROP);
}

// The gate reads the filter: a key it lacks is not looked up. The owner's sweep then
// learns the key (a writer without the filter, such as an older `xdpknock allow`).
TEST_F(BpfFilter, KeyWrittenBehindTheFilterPassesOnceTheOwnerSweeps) {
    writeBehindTheFilter(gate(), sshKey("192.0.2.161"));
    expectVerdict(gate(), syn("192.0.2.161"), XDP_DROP, XK_CNT_SYN_DROP);
    gate().store().sweep(monotonicNowNs());
    expectVerdict(gate(), syn("192.0.2.161"), XDP_PASS, XK_CNT_SYN_PASS);
}

// A "maybe" is never a pass: a stranger whose bits are set (a collision) still needs its
// entry, and opens no flow.
TEST_F(BpfFilter, CollidingStrangerStillNeedsItsEntry) {
    gate().filter().add(sshKey(kV4Stranger));
    xk_auth_key all = sshKey(kV4Stranger);
    all.proto = 0;
    all.port = 0;
    gate().filter().add(all);
    expectVerdict(gate(), syn(kV4Stranger), XDP_DROP, XK_CNT_SYN_DROP);
    expectVerdict(gate(), ack(kV4Stranger), XDP_DROP, XK_CNT_TCP_DROP);
    xk_flow_key f{};
    const Ipv6Addr s = gateAddr(kV4Stranger), d = gateAddr(kV4Gateway);
    std::memcpy(f.saddr, s.data(), 16);
    std::memcpy(f.daddr, d.data(), 16);
    f.sport = 40000;
    f.dport = kSshPort;
    EXPECT_FALSE(gate().flow(f));
}

TEST_F(BpfFilter, RevokedAndSweptKeysLeaveAtTheNextRebuild) {
    gate().grant("192.0.2.162", {IPPROTO_TCP, kSshPort}, 60);
    gate().authorize(gateAddr("192.0.2.163"), IPPROTO_TCP, kSshPort, monotonicNowNs() - kSecond);
    gate().store().revoke(*policy::parse_address("192.0.2.162"));
    gate().store().sweep(monotonicNowNs());  // deletes the expired entry
    EXPECT_TRUE(gate().filter().may_hold(sshKey("192.0.2.162"))) << "bits stay until a rebuild";
    std::this_thread::sleep_for(AuthFilter::kMinFlipInterval);  // the grace after the build
    ASSERT_TRUE(gate().store().rebuild_filter());
    EXPECT_FALSE(gate().filter().may_hold(sshKey("192.0.2.162")));
    EXPECT_FALSE(gate().filter().may_hold(sshKey("192.0.2.163")));
    EXPECT_TRUE(gate().filter().may_hold(sshKey(kV4AuthSsh))) << "live keys stay";
    expectVerdict(gate(), syn(kV4AuthSsh), XDP_PASS, XK_CNT_SYN_PASS);
}

// A filter its owner never built (a fresh map): the gate looks every key up.
TEST_F(BpfFilter, UnbuiltFilterLooksEveryKeyUp) {
    const uint32_t head = 0;
    const xk_filter_line zero{};
    ASSERT_EQ(bpf_map_update_elem(gate().gate().auth_filter_fd(), &head, &zero, BPF_ANY), 0);
    ASSERT_FALSE(gate().filter().ready());
    writeBehindTheFilter(gate(), sshKey("192.0.2.164"));
    expectVerdict(gate(), syn("192.0.2.164"), XDP_PASS, XK_CNT_SYN_PASS);
    // The owner builds it from the map: the key is in.
    gate().store().use_filter(AuthFilter::open(gate().gate().auth_filter_fd()), true);
    ASSERT_TRUE(gate().filter().ready());
    expectVerdict(gate(), syn("192.0.2.164"), XDP_PASS, XK_CNT_SYN_PASS);
    expectVerdict(gate(), syn(kV4Stranger), XDP_DROP, XK_CNT_SYN_DROP);
}

// Grants racing rebuilds: each new source's SYN right after its grant must pass.
TEST_F(BpfFilter, GrantsRacingRebuildsAreNeverDenied) {
    gate().store().use_filter(AuthFilter::open(gate().gate().auth_filter_fd(), 2ms), true);
    std::atomic<bool> done{false};
    std::atomic<int> rebuilds{0};
    std::thread owner([&] {
        while (!done) {
            if (gate().store().rebuild_filter()) ++rebuilds;
            std::this_thread::sleep_for(1ms);
        }
    });
    int denied = 0;
    const auto until = std::chrono::steady_clock::now() + 1500ms;
    for (unsigned i = 0; std::chrono::steady_clock::now() < until; i++) {
        const std::string src =
            "10.77." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
        gate().grant(src, {IPPROTO_TCP, kSshPort}, 60);
        denied += gate().run(syn(src)).retval != XDP_PASS;
        if ((i & 63) == 63) gate().store().revoke(*policy::parse_address(src));  // stale bits
    }
    done = true;
    owner.join();
    EXPECT_EQ(denied, 0);
    EXPECT_GT(rebuilds.load(), 20) << "the race needs rebuilds to race";
}

// ---- The protocol on a bare array, each interleaving of a writer and a rebuild in turn.

class FilterProtocol : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
        fd_ = bpf_map_create(BPF_MAP_TYPE_ARRAY, "auth_filter", 4, sizeof(xk_filter_line),
                             xk_filter_lines(1024), &opts);
        ASSERT_GE(fd_, 0);
        filter_ = AuthFilter::open(fd_, 1ms);
        filter_->build([] { return std::vector<xk_auth_key>{}; });
    }
    void TearDown() override {
        filter_.reset();
        if (fd_ >= 0) close(fd_);
    }
    // A rebuild once the grace is over; `listed` stands for the map at the listing.
    void rebuild(std::vector<xk_auth_key> listed) {
        std::this_thread::sleep_for(2ms);
        ASSERT_TRUE(filter_->rebuild([&] { return listed; }));
    }
    int fd_ = -1;
    std::unique_ptr<AuthFilter> filter_;
};

// Bits set, then a rebuild whose listing ran before the key's write: the writer's second
// setting (after its write) keeps the key in.
TEST_F(FilterProtocol, WriteAfterTheListingKeepsItsBits) {
    const xk_auth_key k = sshKey("192.0.2.170");
    filter_->add(k);  // before the write
    rebuild({});      // cleared, listed without k
    filter_->add(k);  // after the write
    EXPECT_TRUE(filter_->may_hold(k));
    rebuild({k});  // the next rebuild lists it
    EXPECT_TRUE(filter_->may_hold(k));
}

TEST_F(FilterProtocol, ListedKeyKeepsItsBitsAndAGoneOneLeaves) {
    const xk_auth_key kept = sshKey("192.0.2.171"), gone = sshKey("192.0.2.172");
    filter_->add(kept);
    filter_->add(gone);
    rebuild({kept});
    EXPECT_TRUE(filter_->may_hold(kept));
    EXPECT_FALSE(filter_->may_hold(gone));
}

TEST_F(FilterProtocol, RebuildWaitsOutTheGrace) {
    auto slow = AuthFilter::open(fd_, 1000ms);
    slow->build([] { return std::vector<xk_auth_key>{}; });
    EXPECT_FALSE(slow->rebuild([] { return std::vector<xk_auth_key>{}; }));
}

// The store's grants racing its own rebuilds, on maps small enough that a rebuild (clear,
// listing, flip) takes a few microseconds, about a grant's write: every interleaving comes
// up. A granted key must be in the filter the moment grant() returns.
TEST_F(FilterProtocol, GrantsRacingRebuildsKeepTheirBits) {
    const int map = bpf_map_create(BPF_MAP_TYPE_HASH, "authorized", sizeof(xk_auth_key),
                                   sizeof(xk_auth_value), 1024, nullptr);
    ASSERT_GE(map, 0);
    auth::Authorized store(map);
    store.use_filter(AuthFilter::open(fd_, 20us), true);
    std::atomic<bool> done{false};
    std::atomic<int> rebuilds{0};
    std::thread owner([&] {
        while (!done)
            if (store.rebuild_filter()) ++rebuilds;
    });
    const policy::PortRef ssh{IPPROTO_TCP, kSshPort};
    int denied = 0, grants = 0;
    const auto until = std::chrono::steady_clock::now() + 1s;
    for (unsigned i = 0; std::chrono::steady_clock::now() < until; i++, grants++) {
        const std::string src =
            "10.78." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
        const auto addr = *policy::parse_address(src);
        ASSERT_EQ(store.grant(addr, {&ssh, 1}, 60, 0, 0), 0);
        denied += !filter_->may_hold(sshKey(src));
        store.revoke(addr);  // a map of one key: its bits alone in the filter
    }
    done = true;
    owner.join();
    close(map);
    EXPECT_EQ(denied, 0) << "of " << grants << " grants, " << rebuilds << " rebuilds";
    EXPECT_GT(rebuilds.load(), 1000) << "the race needs rebuilds to race";
}

// A head written for an array of another size (an upgrade carried it over): the owner
// must build again, and the gate is told nothing wrong meanwhile.
TEST_F(FilterProtocol, HeadOfAnotherSizeNeedsABuild) {
    EXPECT_FALSE(filter_->needs_build());
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
    const int big = bpf_map_create(BPF_MAP_TYPE_ARRAY, "auth_filter", 4, sizeof(xk_filter_line),
                                   xk_filter_lines(4096), &opts);
    ASSERT_GE(big, 0);
    const uint32_t head = 0;
    xk_filter_line line{};
    ASSERT_EQ(bpf_map_lookup_elem(fd_, &head, &line), 0);
    ASSERT_EQ(bpf_map_update_elem(big, &head, &line, BPF_ANY), 0);
    auto copied = AuthFilter::open(big);
    EXPECT_TRUE(copied->needs_build());
    copied->build([] { return std::vector<xk_auth_key>{sshKey("192.0.2.173")}; });
    EXPECT_FALSE(copied->needs_build());
    EXPECT_TRUE(copied->may_hold(sshKey("192.0.2.173")));
    copied.reset();
    close(big);
}

}  // namespace
}  // namespace xk::test
