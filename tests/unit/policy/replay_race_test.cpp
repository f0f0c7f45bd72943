// One replay cache shared by every worker (policy/replay_cache.hpp): threads inserting the
// same knocks at once, while another prunes and rewrites the journal, admit each knock
// exactly once, and the journal a restart reads holds every one. Run under TSan in CI
// (label tsan) as well as in the plain build.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "policy/replay_cache.hpp"

using xk::policy::ReplayCache;
using xk::spa::ReplayDigest;
using Insert = ReplayCache::Insert;

namespace {

constexpr int kThreads = 4;
constexpr int kKeys = 3000;
constexpr int64_t kRetention = 240;

// Spread over every shard and home slot.
ReplayDigest digest(uint32_t n) {
    ReplayDigest d{};
    for (size_t i = 0; i < d.size(); i += 4) {
        uint32_t v = n * 2654435761u + static_cast<uint32_t>(i);
        d[i] = static_cast<uint8_t>(v);
        d[i + 1] = static_cast<uint8_t>(v >> 8);
        d[i + 2] = static_cast<uint8_t>(v >> 16);
        d[i + 3] = static_cast<uint8_t>(v >> 24);
    }
    return d;
}

std::string temp_dir() {
    char dir[] = "/tmp/xk-replay-race-XXXXXX";
    EXPECT_TRUE(mkdtemp(dir));
    return dir;
}

}  // namespace

TEST(ReplayCacheRace, EveryKnockAdmittedOnceAcrossWorkersWhilePruning) {
    // The wall clock: size() and a restart judge expiry by it.
    const int64_t kNow = time(nullptr);
    const std::string dir = temp_dir();
    const std::string journal = dir + "/replay.journal";
    {
        ReplayCache cache(journal, kRetention, kKeys * 2);
        std::vector<std::atomic<int>> added(kKeys);
        std::atomic<bool> done{false};
        std::atomic<int> bad{0};
        // Each worker walks the keys from its own offset, so they collide on every key.
        std::vector<std::thread> workers;
        for (int t = 0; t < kThreads; ++t)
            workers.emplace_back([&, t] {
                for (int i = 0; i < kKeys; ++i) {
                    int k = (i + t * kKeys / kThreads) % kKeys;
                    Insert r = cache.insert(digest(k), kNow + i % 3);
                    if (r == Insert::added)
                        added[k].fetch_add(1);
                    else if (r != Insert::present)
                        bad.fetch_add(1);
                    if (!cache.contains(digest(k), kNow)) bad.fetch_add(1);
                }
            });
        std::thread pruner([&] {
            while (!done.load()) {
                cache.prune(kNow);
                std::this_thread::yield();
            }
        });
        for (auto &w : workers) w.join();
        done = true;
        pruner.join();

        EXPECT_EQ(bad.load(), 0) << "an insert was refused, or a key vanished after it";
        int once = 0;
        for (auto &a : added) once += a.load() == 1;
        EXPECT_EQ(once, kKeys) << "some knock was admitted twice or never";
        EXPECT_EQ(cache.size(), static_cast<size_t>(kKeys));
    }
    // A restart reads every admitted knock back from the journal the pruner rewrote.
    ReplayCache again(journal, kRetention, kKeys * 2);
    int held = 0;
    for (int k = 0; k < kKeys; ++k) held += again.contains(digest(k), kNow);
    EXPECT_EQ(held, kKeys);
    std::filesystem::remove_all(dir);
}
