// The in-memory store keeps the AuthorizationStore contract the map store keeps: extend
// only, per port, sweep what expired, revoke a source whole.
#include <gtest/gtest.h>

#include "auth/memory_store.hpp"

namespace xk::auth {
namespace {

constexpr uint64_t kS = 1000000000ull;

struct Clock {
    uint64_t now = 1000 * kS;
};

TEST(MemoryStore, ExtendOnly) {
    Clock c;
    MemoryStore store([&] { return c.now; });
    auto a = *policy::parse_address("192.0.2.1");
    policy::PortRef ssh{6, 22};
    ASSERT_EQ(store.grant(a, {&ssh, 1}, 60, 0, 0), 0);
    ASSERT_EQ(store.grant(a, {&ssh, 1}, 10, 1, 1), 0);  // shorter: ignored
    auto l = store.list();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].value.expires_ns, c.now + 60 * kS);
    EXPECT_EQ(l[0].value.range_id, 0u);
    c.now += 30 * kS;
    ASSERT_EQ(store.grant(a, {&ssh, 1}, 60, 2, 0), 0);  // longer: taken
    EXPECT_EQ(store.list()[0].value.expires_ns, c.now + 60 * kS);
    EXPECT_EQ(store.list()[0].value.range_id, 2u);
}

TEST(MemoryStore, SweepCountAndRevoke) {
    Clock c;
    MemoryStore store([&] { return c.now; });
    auto a = *policy::parse_address("192.0.2.1"), b = *policy::parse_address("2001:db8::2");
    policy::PortRef ports[] = {{6, 22}, {6, 443}};
    policy::PortRef all{};
    ASSERT_EQ(store.grant(a, ports, 10, 0, 0), 0);
    ASSERT_EQ(store.grant(b, {&all, 1}, 100, 0, 0), 0);
    EXPECT_EQ(store.count(c.now), 3u);
    EXPECT_EQ(store.count(c.now + 50 * kS), 1u);
    EXPECT_EQ(store.sweep(c.now + 50 * kS).size(), 2u);
    EXPECT_EQ(store.list().size(), 1u);
    EXPECT_EQ(store.revoke(b), 1u);
    EXPECT_EQ(store.revoke(b), 0u);
    EXPECT_TRUE(store.list().empty());
}

// count() walks the entries in place: a dry run asks for it per summary, and the base
// class's way (a copy of every entry through list()) was its hot spot.
TEST(MemoryStore, CountDoesNotCopyThroughList) {
    struct Watched : MemoryStore {
        using MemoryStore::MemoryStore;
        mutable int lists = 0;
        std::vector<Entry> list() const override {
            ++lists;
            return MemoryStore::list();
        }
    };
    Clock c;
    Watched store([&] { return c.now; });
    auto a = *policy::parse_address("192.0.2.1");
    policy::PortRef ports[] = {{6, 22}, {17, 53}};
    ASSERT_EQ(store.grant(a, ports, 10, 0, 0), 0);
    EXPECT_EQ(store.count(c.now), 2u);
    EXPECT_EQ(store.count(c.now + 10 * kS), 0u);  // expiring at now is not live
    EXPECT_EQ(store.count(c.now + 10 * kS - 1), 2u);
    EXPECT_EQ(store.lists, 0);
}

}  // namespace
}  // namespace xk::auth
