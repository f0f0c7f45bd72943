// Many workers granting at once through one NftStore: every grant lands, concurrent
// grants share netlink batches, extend-only holds across threads, and revokes, sweeps and
// reads run beside them (tsan).
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "nft/nft_store.hpp"

bool nft_test_netns();

namespace xk::nft {
namespace {

constexpr policy::PortRef kSsh{IPPROTO_TCP, 22};
constexpr uint64_t kSecond = 1000000000ull;

policy::Address nth_v4(uint32_t i) {
    return policy::Address::from_v4(htonl(0x0a000000u + i));
}

TEST(NftGroupCommit, ConcurrentGrantsAllLandInFewerBatches) {
    ASSERT_TRUE(nft_test_netns()) << "needs a network namespace of its own (root)";
    NftContext nft;
    nft.try_run("add table inet xdpknock\ndelete table inet xdpknock\n");
    auto gate = NftGate::attach({"eth0", {kSsh}, {}});
    NftStore store("eth0", {{UINT32_MAX, UINT32_MAX}, {UINT32_MAX, UINT32_MAX}}, 100000);

    constexpr uint32_t kThreads = 4, kEach = 400;
    const policy::Address shared = nth_v4(60000);  // every thread refreshes it
    std::atomic<uint32_t> failed{0};
    std::atomic<bool> stop{false};
    const uint64_t started = monotonic_ns();
    std::vector<std::thread> workers;
    for (uint32_t t = 0; t < kThreads; ++t) {
        workers.emplace_back([&, t] {
            for (uint32_t i = 0; i < kEach; ++i) {
                const uint32_t range = t % 2;
                if (store.grant(nth_v4(t * kEach + i), {&kSsh, 1}, 300, range, t) != 0) ++failed;
                if (i % 50 == 0 && store.grant(shared, {&kSsh, 1}, 100 + t * 100 + i, 0, t) != 0)
                    ++failed;
            }
        });
    }
    std::thread reader([&] {
        while (!stop.load()) {
            store.usage(0);
            store.count(monotonic_ns());
            store.sweep(monotonic_ns());
            store.revoke(nth_v4(90000));  // nobody's: a revoke beside the grants
        }
    });
    for (auto &w : workers) w.join();
    stop = true;
    reader.join();

    EXPECT_EQ(failed.load(), 0u);
    EXPECT_EQ(store.count(monotonic_ns()), kThreads * kEach + 1);
    EXPECT_EQ(store.list().size(), kThreads * kEach + 1);
    EXPECT_EQ(store.usage(0).entries + store.usage(1).entries, kThreads * kEach + 1);
    EXPECT_LT(store.batches(), uint64_t{kThreads} * kEach);
    // The longest refresh wins (thread 3's last: 100 + 300 + 350 s), whatever the order; the
    // next longest (700 s) would end 50 s earlier. The listing rounds down to seconds.
    for (const auto &e : store.list()) {
        if (e.addr != shared) continue;
        EXPECT_GE(e.value.expires_ns, started + 749 * kSecond);
        EXPECT_LE(e.value.expires_ns, monotonic_ns() + 750 * kSecond);
    }
    std::printf("nft: %u grants from %u threads in %llu batches\n", kThreads * kEach, kThreads,
                static_cast<unsigned long long>(store.batches()));
}

}  // namespace
}  // namespace xk::nft
