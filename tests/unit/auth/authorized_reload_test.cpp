// A reload's quotas (Authorized::set_quotas): the same map, recounted for the new ranges
// while the store stays in use; grants already in the map are kept.
// Needs CAP_BPF for a real hash map of the gate's layout (root in CI).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "auth/authorized.hpp"
#include "authorized_map_fixture.hpp"

using namespace xk;

namespace {

class ReloadQuotas : public test::AuthorizedMapFixture {};

const policy::PortRef kSsh{6, 22};

policy::Address v4(unsigned i) {
    return *policy::parse_address("198.51.100." + std::to_string(i));
}

}  // namespace

TEST_F(ReloadQuotas, ALowerQuotaRefusesNewSourcesAndKeepsTheHeldOnes) {
    auth::Authorized map(fd_, {{3, 3}, {3, 3}});
    ASSERT_EQ(map.grant(v4(1), {&kSsh, 1}, 100, 0, 0), 0);
    ASSERT_EQ(map.grant(v4(2), {&kSsh, 1}, 100, 0, 0), 0);
    ASSERT_EQ(map.grant(v4(3), {&kSsh, 1}, 100, 1, 0), 0);
    ASSERT_EQ(map.grant(v4(4), {&kSsh, 1}, 100, 0, 0), 0);
    EXPECT_EQ(map.grant(v4(5), {&kSsh, 1}, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(map.usage(0).refused_range_full, 1u);

    map.set_quotas({{2, 2}});  // the reload lowered range 0 and removed range 1
    EXPECT_EQ(map.ranges(), 1u);
    EXPECT_EQ(map.list().size(), 4u);  // every grant stays
    EXPECT_EQ(map.usage(0).sources, 3u);
    EXPECT_EQ(map.usage(0).quota.max_sources, 2u);
    EXPECT_EQ(map.usage(0).refused_range_full, 0u);  // counted again from the reload
    EXPECT_EQ(map.usage(1).sources, 0u);             // no such range any more
    EXPECT_EQ(map.grant(v4(6), {&kSsh, 1}, 100, 0, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(map.grant(v4(1), {&kSsh, 1}, 200, 0, 0), 0);  // a held source refreshes
}

TEST_F(ReloadQuotas, AHigherQuotaAndANewRangeTakeNewSourcesAtOnce) {
    auth::Authorized map(fd_, {{1, 1}});
    ASSERT_EQ(map.grant(v4(1), {&kSsh, 1}, 100, 0, 0), 0);
    EXPECT_EQ(map.grant(v4(2), {&kSsh, 1}, 100, 0, 0), auth::Authorized::kRangeFull);
    map.set_quotas({{2, 2}, {1, 1}});
    EXPECT_EQ(map.usage(0).sources, 1u);
    EXPECT_EQ(map.grant(v4(2), {&kSsh, 1}, 100, 0, 0), 0);
    EXPECT_EQ(map.grant(v4(3), {&kSsh, 1}, 100, 1, 0), 0);
    EXPECT_EQ(map.grant(v4(4), {&kSsh, 1}, 100, 1, 0), auth::Authorized::kRangeFull);
    EXPECT_EQ(map.usage(1).sources, 1u);
}

// Workers keep granting while the daemon reloads: no grant is lost and the recount
// matches the map.
TEST_F(ReloadQuotas, GrantsDuringAReloadAreCounted) {
    auth::Authorized map(fd_, {{500, 500}});
    std::atomic<bool> stop{false};
    std::thread worker([&] {
        for (unsigned i = 1; i <= 200 && !stop; ++i) {
            policy::Address a = *policy::parse_address("203.0.113." + std::to_string(i % 250));
            EXPECT_EQ(map.grant(a, {&kSsh, 1}, 100, 0, 0), 0);
        }
    });
    for (int i = 0; i < 50; ++i) map.set_quotas({{500, 500}});
    worker.join();
    map.set_quotas({{500, 500}});
    EXPECT_EQ(map.usage(0).sources, map.list().size());
}
