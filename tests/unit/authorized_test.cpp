// The authorized map as workers write it: refreshes extend, races lose nothing.
// Needs CAP_BPF for a real hash map of the gate's layout (root in CI).
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "auth/authorized.hpp"

using namespace xk;

namespace {

class AuthorizedMap : public ::testing::Test {
  protected:
    void SetUp() override {
        fd_ = bpf_map_create(BPF_MAP_TYPE_HASH, "authorized", sizeof(xk_auth_key),
                             sizeof(xk_auth_value), 1024, nullptr);
        if (fd_ < 0) {
            const char *ci = getenv("CI");
            if (ci && std::string(ci) == "true") FAIL() << "cannot create a BPF map in CI";
            GTEST_SKIP() << "needs CAP_BPF";
        }
    }
    void TearDown() override {
        if (fd_ >= 0) close(fd_);
    }
    uint64_t expiry(const policy::Address &a, policy::PortRef p) {
        xk_auth_key k = auth::make_key(a, p);
        xk_auth_value v{};
        EXPECT_EQ(bpf_map_lookup_elem(fd_, &k, &v), 0);
        return v.expires_ns;
    }
    int fd_ = -1;
};

const policy::PortRef kSsh{6, 22};

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
