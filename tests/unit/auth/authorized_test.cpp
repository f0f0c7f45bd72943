// The authorized map as workers write it: refreshes extend, races lose nothing.
// Needs CAP_BPF for a real hash map of the gate's layout (root in CI).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "auth/authorized.hpp"
#include "authorized_map_fixture.hpp"

using namespace xk;

namespace {

class AuthorizedMap : public test::AuthorizedMapFixture {
  protected:
    uint64_t expiry(const policy::Address &a, policy::PortRef p) {
        xk_auth_key k = auth::make_key(a, p);
        xk_auth_value v{};
        EXPECT_EQ(bpf_map_lookup_elem(fd_, &k, &v), 0);
        return v.expires_ns;
    }
};

const policy::PortRef kSsh{6, 22};
const policy::PortRef kHttps{6, 443};

policy::Address v4(unsigned i) {
    return *policy::parse_address("198.51." + std::to_string(i / 256) + "." +
                                  std::to_string(i % 256));
}

size_t entries_of(const auth::Authorized &map, const policy::Address &a) {
    size_t n = 0;
    for (const auto &e : map.list()) n += e.addr == a;
    return n;
}

}  // namespace

TEST_F(AuthorizedMap, RefreshExtendsButNeverShortens) {
    auth::Authorized map(fd_);
    auto a = *policy::parse_address("192.0.2.1");
    ASSERT_EQ(map.grant(a, {&kSsh, 1}, 100, 0, 0), 0);
    uint64_t long_one = expiry(a, kSsh);
    ASSERT_EQ(map.grant(a, {&kSsh, 1}, 10, 0, 1), 0);
    EXPECT_EQ(expiry(a, kSsh), long_one);  // the shorter grant did not cut it
    usleep(2000);
    ASSERT_EQ(map.grant(a, {&kSsh, 1}, 100, 0, 0), 0);
    EXPECT_GT(expiry(a, kSsh), long_one);  // a second knock extends
}

TEST_F(AuthorizedMap, ConcurrentGrantsKeepTheLongest) {
    auth::Authorized map(fd_);
    auto a = *policy::parse_address("2001:db8::1");
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&, t] {
            // Thread 0 grants 1000 s, the others 1 s, interleaved as tightly as they run.
            for (int i = 0; i < 2000; ++i) map.grant(a, {&kSsh, 1}, t == 0 ? 1000 : 1, 0, t);
        });
    }
    for (auto &w : workers) w.join();
    EXPECT_GT(expiry(a, kSsh), auth::monotonic_ns() + 900ull * 1000000000ull);
}

TEST_F(AuthorizedMap, SweepRemovesOnlyExpiredAndRevokeOnlyTheAddress) {
    auth::Authorized map(fd_);
    auto a = *policy::parse_address("192.0.2.1"), b = *policy::parse_address("192.0.2.2");
    policy::PortRef all{};
    ASSERT_EQ(map.grant(a, {&kSsh, 1}, 1, 0, 0), 0);
    ASSERT_EQ(map.grant(a, {&all, 1}, 100, 0, 0), 0);
    ASSERT_EQ(map.grant(b, {&kSsh, 1}, 100, 0, 0), 0);
    auto expired = map.sweep(auth::monotonic_ns() + 2ull * 1000000000ull);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].addr, a);
    EXPECT_EQ(expired[0].port, kSsh);
    EXPECT_EQ(map.list().size(), 2u);
    EXPECT_EQ(map.revoke(a), 1u);
    ASSERT_EQ(map.list().size(), 1u);
    EXPECT_EQ(map.list()[0].addr, b);
}

// Issue 16 item 6: one range filling up must never lock out another range.
TEST_F(AuthorizedMap, AFullRangeRefusesItsNewSourcesOnly) {
    auth::Authorized map(fd_, {{2, 4}, {10, 20}});  // fko ranges opening two ports
    ASSERT_EQ(map.grant(v4(1), {&kSsh, 1}, 100, 0, 0), 0);
    ASSERT_EQ(map.grant(v4(2), {&kSsh, 1}, 100, 0, 0), 0);
    EXPECT_EQ(map.grant(v4(3), {&kSsh, 1}, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(entries_of(map, v4(3)), 0u);  // nothing written for the refused source
    EXPECT_EQ(map.grant(v4(3), {&kSsh, 1}, 100, 1, 0), 0);  // the other range still grants
    uint64_t before = expiry(v4(1), kSsh);
    usleep(2000);
    EXPECT_EQ(map.grant(v4(1), {&kSsh, 1}, 100, 0, 0), 0);  // a held source refreshes
    EXPECT_GT(expiry(v4(1), kSsh), before);
    auto u = map.usage(0);
    EXPECT_EQ(u.sources, 2u);
    EXPECT_EQ(u.entries, 2u);
    EXPECT_EQ(u.refused_range_full, 1u);
    EXPECT_EQ(map.usage(1).sources, 1u);
    EXPECT_EQ(map.usage(1).refused_range_full, 0u);
    // Hand-made entries count to no range.
    EXPECT_EQ(map.grant(v4(9), {&kSsh, 1}, 100, UINT32_MAX, UINT32_MAX), 0);
    EXPECT_EQ(map.usage(0).sources, 2u);
}

TEST_F(AuthorizedMap, SweepAndRevokeFreeTheirPlaces) {
    auth::Authorized map(fd_, {{2, 4}});
    policy::PortRef both[] = {kSsh, kHttps};
    ASSERT_EQ(map.grant(v4(1), both, 1, 0, 0), 0);
    ASSERT_EQ(map.grant(v4(2), both, 100, 0, 0), 0);
    EXPECT_EQ(map.grant(v4(3), both, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(map.sweep(auth::monotonic_ns() + 2'000'000'000ull).size(), 2u);
    EXPECT_EQ(map.usage(0).sources, 1u);
    EXPECT_EQ(map.usage(0).entries, 2u);
    ASSERT_EQ(map.grant(v4(3), both, 100, 0, 0), 0);  // the swept source's place
    EXPECT_EQ(map.grant(v4(4), both, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(map.revoke(v4(2)), 2u);
    EXPECT_EQ(map.usage(0).sources, 1u);
    EXPECT_EQ(map.grant(v4(4), both, 100, 0, 0), 0);  // the revoked source's place
}

// Entries carry their range_id: a restart counts what the last run granted.
TEST_F(AuthorizedMap, ARestartRebuildsTheCounts) {
    policy::PortRef both[] = {kSsh, kHttps};
    {
        auth::Authorized before(fd_, {{3, 6}, {3, 6}});
        ASSERT_EQ(before.grant(v4(1), both, 100, 0, 0), 0);
        ASSERT_EQ(before.grant(v4(2), {&kSsh, 1}, 100, 0, 0), 0);
        ASSERT_EQ(before.grant(v4(3), {&kSsh, 1}, 100, 1, 0), 0);
    }
    auth::Authorized hand(fd_);
    ASSERT_EQ(hand.grant(v4(4), {&kSsh, 1}, 100, UINT32_MAX, UINT32_MAX), 0);
    auth::Authorized after(fd_, {{2, 4}, {3, 6}});  // the new config lowered range 0's quota
    EXPECT_EQ(after.usage(0).sources, 2u);
    EXPECT_EQ(after.usage(0).entries, 3u);
    EXPECT_EQ(after.usage(1).sources, 1u);
    EXPECT_EQ(after.grant(v4(5), {&kSsh, 1}, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(after.grant(v4(2), both, 100, 0, 0), 0);  // held: refreshes, gains a port
    EXPECT_EQ(after.usage(0).entries, 4u);
    // Entries of a range the config no longer has count to none.
    auth::Authorized fewer(fd_, {{2, 4}});
    EXPECT_EQ(fewer.ranges(), 1u);
    EXPECT_EQ(fewer.usage(0).sources, 2u);
}

// An fko range opening "*": a source may ask for ports one by one; the range's entry
// budget stops it from growing into the other ranges' share.
TEST_F(AuthorizedMap, TheEntryBudgetBoundsOneSource) {
    auth::Authorized map(fd_, {{10, 3}});
    policy::PortRef ports[] = {{6, 1}, {6, 2}, {6, 3}, {6, 4}};
    ASSERT_EQ(map.grant(v4(1), {ports, 3}, 100, 0, 0), 0);
    EXPECT_EQ(map.grant(v4(1), {ports + 3, 1}, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(map.grant(v4(1), {ports, 3}, 200, 0, 0), 0);  // its ports still refresh
    EXPECT_EQ(map.usage(0).entries, 3u);
    policy::PortRef twice[] = {kSsh, kSsh};
    auth::Authorized other(fd_, {{10, 3}, {10, 1}});
    EXPECT_EQ(other.grant(v4(2), twice, 100, 1, 0), 0);  // one entry, counted once
    EXPECT_EQ(other.usage(1).entries, 1u);
}

// A longer grant by another range takes the entry over, and the counts follow it.
TEST_F(AuthorizedMap, AnEntryTakenOverByAnotherRangeMovesItsCount) {
    auth::Authorized map(fd_, {{5, 5}, {5, 5}});
    ASSERT_EQ(map.grant(v4(1), {&kSsh, 1}, 10, 0, 0), 0);
    ASSERT_EQ(map.grant(v4(1), {&kSsh, 1}, 100, 1, 0), 0);
    EXPECT_EQ(map.usage(0).sources, 0u);
    EXPECT_EQ(map.usage(1).sources, 1u);
    ASSERT_EQ(map.grant(v4(1), {&kSsh, 1}, 5, 0, 0), 0);  // shorter: the entry stays range 1's
    EXPECT_EQ(map.usage(0).sources, 0u);
}

TEST_F(AuthorizedMap, ConcurrentNewSourcesNeverPassTheQuota) {
    auth::Authorized map(fd_, {{50, 50}});
    std::atomic<int> granted{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
        workers.emplace_back([&, t] {
            for (unsigned i = 0; i < 100; ++i) {
                if (map.grant(v4(t * 100 + i), {&kSsh, 1}, 100, 0, 0) == 0) ++granted;
            }
        });
    }
    for (auto &w : workers) w.join();
    EXPECT_EQ(granted.load(), 50);
    EXPECT_EQ(map.list().size(), 50u);
    EXPECT_EQ(map.usage(0).sources, 50u);
    EXPECT_EQ(map.usage(0).refused_range_full, 350u);
}

// `xdpknock revoke` edits the map from another process: the daemon's next sweep sees
// the range's entries gone and recounts, so the place is not lost until a restart.
TEST_F(AuthorizedMap, ASweepRecountsAfterAnotherProcessRevokes) {
    auth::Authorized daemon(fd_, {{2, 2}});
    ASSERT_EQ(daemon.grant(v4(1), {&kSsh, 1}, 100, 0, 0), 0);
    ASSERT_EQ(daemon.grant(v4(2), {&kSsh, 1}, 100, 0, 0), 0);
    auth::Authorized cli(fd_);
    EXPECT_EQ(cli.revoke(v4(1)), 1u);
    EXPECT_EQ(daemon.grant(v4(3), {&kSsh, 1}, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_TRUE(daemon.sweep(auth::monotonic_ns()).empty());
    EXPECT_EQ(daemon.usage(0).sources, 1u);
    EXPECT_EQ(daemon.grant(v4(3), {&kSsh, 1}, 100, 0, 0), 0);
}

// The kernel's own limit: ENOSPC/E2BIG becomes kMapFull, nothing half-written, no crash.
TEST_F(AuthorizedMap, AFullMapRefusesAsMapFull) {
    create(8);
    auth::Authorized map(fd_, {{100, 100}});
    for (unsigned i = 0; i < 7; ++i) ASSERT_EQ(map.grant(v4(i), {&kSsh, 1}, 100, 0, 0), 0);
    policy::PortRef both[] = {kSsh, kHttps};
    EXPECT_EQ(map.grant(v4(7), both, 100, 0, 0), auth::Authorized::kMapFull);
    EXPECT_EQ(entries_of(map, v4(7)), 0u);  // the one that fitted was taken back
    EXPECT_EQ(map.usage(0).sources, 7u);
    EXPECT_EQ(map.usage(0).entries, 7u);
    ASSERT_EQ(map.grant(v4(7), {&kSsh, 1}, 100, 0, 0), 0);
    EXPECT_EQ(map.grant(v4(8), {&kSsh, 1}, 100, 0, 0), auth::Authorized::kMapFull);
    EXPECT_EQ(map.usage(0).refused_map_full, 2u);
    EXPECT_EQ(map.grant(v4(0), {&kSsh, 1}, 200, 0, 0), 0);  // a refresh needs no room
    auth::Authorized hand(fd_);
    EXPECT_EQ(hand.grant(v4(9), {&kSsh, 1}, 100, UINT32_MAX, UINT32_MAX),
              auth::Authorized::kMapFull);
}

// The accounting table against a plain std::map, through collisions and deletions
// (backward-shift deletion must never lose a probe chain's later members).
TEST(SourceCounts, MatchesAReferenceThroughChurn) {
    auth::SourceCounts counts(48, 3);  // 128 slots: chains collide often
    std::map<std::pair<unsigned, uint32_t>, uint32_t> ref;
    std::mt19937 rng(16);
    for (int op = 0; op < 20000; ++op) {
        unsigned a = rng() % 60;
        uint32_t r = rng() % 4;  // 3 is past the ranges: counts to none
        uint32_t n = 1 + rng() % 2;
        auto &want = ref[{a, r}];
        if (rng() % 2) {
            if (r < 3 && want == 0 && ref.size() > 90) continue;  // stay under the 3/4 load
            ASSERT_TRUE(counts.add(v4(a), r, n));
            if (r < 3) want += n;
        } else {
            counts.remove(v4(a), r, n);
            want -= std::min(want, n);
        }
        if (want == 0) ref.erase({a, r});
    }
    std::array<auth::SourceCounts::PerRange, 3> per{};
    for (unsigned a = 0; a < 60; ++a) {
        for (uint32_t r = 0; r < 4; ++r) {
            auto it = ref.find({a, r});
            uint32_t want = it == ref.end() ? 0 : it->second;
            ASSERT_EQ(counts.held(v4(a), r), want) << a << " " << r;
            if (r < 3 && want) {
                ++per[r].sources;
                per[r].entries += want;
            }
        }
    }
    for (uint32_t r = 0; r < 3; ++r) {
        EXPECT_EQ(counts.range(r).sources, per[r].sources);
        EXPECT_EQ(counts.range(r).entries, per[r].entries);
    }
}
