// Two or three gateways (Cluster objects over in-memory stores) sharing one real Redis:
// first sight of a knock decided once across them, grants and revokes shared, an outage
// survived alone and converged from.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include "auth/memory_store.hpp"
#include "cluster/cluster.hpp"
#include "cluster/cluster_replay.hpp"
#include "cluster/cluster_store.hpp"
#include "log/log.hpp"
#include "redis_server.hpp"

namespace xk::cluster {
namespace {

using testing::eventually;
using testing::RedisServer;

// One gateway: its local cache and store, wrapped by the cluster's.
policy::Cluster over_unix(const std::string &redis, const std::string &node,
                          const std::string &password_file = "") {
    policy::Cluster c;
    c.redis = redis;
    c.unix_path = redis.substr(5);  // "unix:/…", as config parsing splits it
    c.node = node;
    c.prefix = "t";
    c.password_file = password_file;
    c.timeout_ms = 50;
    return c;
}

struct Gateway {
    Gateway(const std::string &redis, const std::string &node,
            const std::string &password_file = "")
        : Gateway(over_unix(redis, node, password_file)) {}
    explicit Gateway(const policy::Cluster &c) : cache("", 120) {
        cluster = std::make_unique<Cluster>(c, 4);
        auto local = std::make_unique<auth::MemoryStore>();
        memory = local.get();
        store = std::make_unique<ClusterStore>(std::move(local), *cluster);
        replay = std::make_unique<ClusterReplay>(cache, *cluster, 120);
        cluster->start();
    }
    ~Gateway() {
        store.reset();
        cluster->stop();
    }
    bool holds(const policy::Address &a) const {
        for (const auto &e : memory->list())
            if (e.addr == a) return true;
        return false;
    }
    policy::ReplayCache cache;
    std::unique_ptr<Cluster> cluster;
    auth::MemoryStore *memory = nullptr;
    std::unique_ptr<ClusterStore> store;
    std::unique_ptr<ClusterReplay> replay;
};

spa::ReplayDigest digest(uint8_t n) {
    spa::ReplayDigest d{};
    d[0] = n;
    d[5] = 0x5a;
    return d;
}

const policy::Address kClient = *policy::parse_address("10.0.0.2");
const policy::PortRef kSsh = policy::parse_port_ref("tcp/22");

class ClusterRedis : public ::testing::Test {
  protected:
    RedisServer redis;
};

TEST_F(ClusterRedis, AKnockIsFirstSeenOnceAcrossTheGateways) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    const int64_t now = time(nullptr);
    EXPECT_EQ(a.replay->insert(digest(1), now), policy::ReplayStore::Insert::added);
    EXPECT_EQ(b.replay->insert(digest(1), now), policy::ReplayStore::Insert::present);
    EXPECT_TRUE(b.cache.contains(digest(1), now));  // its next copy is a local hit
    EXPECT_EQ(b.cluster->state().replay_remote, 1u);
    EXPECT_EQ(a.replay->insert(digest(1), now), policy::ReplayStore::Insert::present);
    EXPECT_EQ(b.replay->insert(digest(2), now), policy::ReplayStore::Insert::added);
}

// Workers of two gateways racing on the same knocks: each is added exactly once.
TEST_F(ClusterRedis, RacingWorkersOnTwoGatewaysAddEachKnockOnce) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    const int64_t now = time(nullptr);
    std::atomic<int> added{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            ClusterReplay &r = t % 2 ? *a.replay : *b.replay;
            for (int i = 0; i < 200; ++i)
                added += r.insert(digest(static_cast<uint8_t>(i)), now) ==
                         policy::ReplayStore::Insert::added;
        });
    }
    for (auto &t : threads) t.join();
    EXPECT_EQ(added.load(), 200);
}

TEST_F(ClusterRedis, AGrantOnOneGatewayOpensTheOthersAndARevokeShutsThem) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    ASSERT_EQ(a.store->grant(kClient, {&kSsh, 1}, 30, 0, 0), 0);
    ASSERT_TRUE(eventually([&] { return b.holds(kClient); }));
    const auto e = b.memory->list().at(0);
    EXPECT_EQ(e.port, kSsh);
    EXPECT_EQ(e.value.range_id, auth::kClusterRange);  // counts to none of b's ranges
    EXPECT_LE(e.value.expires_ns, monotonic_ns() + 30'000'000'000ull);
    EXPECT_GT(e.value.expires_ns, monotonic_ns() + 25'000'000'000ull);
    EXPECT_EQ(b.cluster->state().applied, 1u);
    EXPECT_EQ(b.cluster->state().lag_samples, 1u);

    EXPECT_EQ(b.store->revoke(kClient), 1u);
    ASSERT_TRUE(eventually([&] { return !a.holds(kClient); }));
    // A gateway started now finds nothing to load for the revoked address.
    Gateway c(redis.endpoint(), "gw-c");
    ASSERT_TRUE(eventually([&] { return c.cluster->connected(); }));
    EXPECT_FALSE(c.holds(kClient));
}

TEST_F(ClusterRedis, AGatewayStartedLateLoadsTheLiveGrants) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected(); }));
    ASSERT_EQ(a.store->grant(kClient, {&kSsh, 1}, 30, 0, 0), 0);
    ASSERT_TRUE(eventually([&] { return a.cluster->state().published == 1; }));
    Gateway late(redis.endpoint(), "gw-late");
    ASSERT_TRUE(eventually([&] { return late.holds(kClient); }));
    EXPECT_TRUE(eventually([&] {
        auto peers = late.cluster->state().peers;
        return peers == std::vector<std::string>{"gw-a"};
    }));
}

// Redis gone: each gateway judges alone (counted, said once); back: the grants and knocks
// of the outage reach the others.
TEST_F(ClusterRedis, WithoutRedisEachGoesOnAloneAndConvergesAfter) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    redis.stop();
    const int64_t now = time(nullptr);
    // The first knock may still find a link and fail on it; either way it is judged here.
    EXPECT_EQ(a.replay->insert(digest(7), now), policy::ReplayStore::Insert::added);
    EXPECT_EQ(a.replay->insert(digest(7), now), policy::ReplayStore::Insert::present);
    ASSERT_EQ(a.store->grant(kClient, {&kSsh, 1}, 30, 0, 0), 0);
    EXPECT_TRUE(a.holds(kClient));  // the client never waits on Redis
    ASSERT_TRUE(eventually([&] { return !a.cluster->connected(); }));
    auto down = a.cluster->state();
    EXPECT_EQ(down.outages, 1u);
    EXPECT_GE(down.replay_local_only, 1u);
    EXPECT_GE(down.queued, 2u);  // the grant and the digest
    EXPECT_FALSE(b.holds(kClient));

    ASSERT_TRUE(redis.start());
    ASSERT_TRUE(eventually([&] { return b.holds(kClient); }));
    ASSERT_TRUE(eventually([&] { return a.cluster->state().queued == 0; }));
    EXPECT_EQ(b.replay->insert(digest(7), now), policy::ReplayStore::Insert::present);
    EXPECT_EQ(a.cluster->state().outages, 1u);
}

// After an outage every knock lane's old socket is dead, even one that never failed a
// command: the first knock after the reconnect must still be decided by Redis, not taken
// for a new outage.
TEST_F(ClusterRedis, AfterAnOutageTheFirstKnockIsStillDecidedByRedis) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    const int64_t now = time(nullptr);
    ASSERT_EQ(b.replay->insert(digest(20), now),
              policy::ReplayStore::Insert::added);  // b's lane connects
    redis.stop();
    ASSERT_TRUE(eventually([&] { return !a.cluster->connected() && !b.cluster->connected(); }));
    ASSERT_TRUE(redis.start());
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    EXPECT_EQ(a.replay->insert(digest(21), now), policy::ReplayStore::Insert::added);
    EXPECT_EQ(b.replay->insert(digest(21), now), policy::ReplayStore::Insert::present);
    EXPECT_EQ(b.cluster->state().outages, 1u);
    EXPECT_TRUE(b.cluster->connected());
}

// Redis refusing writes (here: out of memory) is an outage: the grant stays queued, in
// order, and reaches the others once Redis takes writes again.
TEST_F(ClusterRedis, ARefusedEventStaysQueuedUntilRedisTakesIt) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    RedisLink admin(Endpoint{"", 0, redis.socket()}, "", std::chrono::milliseconds(500));
    ASSERT_EQ(admin.connect(), "");
    admin.command({"CONFIG", "SET", "maxmemory", "1"});
    ASSERT_EQ(a.store->grant(kClient, {&kSsh, 1}, 30, 0, 0), 0);
    ASSERT_TRUE(eventually([&] { return a.cluster->state().outages == 1; }));
    EXPECT_GE(a.cluster->state().queued, 1u);
    EXPECT_FALSE(b.holds(kClient));
    admin.command({"CONFIG", "SET", "maxmemory", "0"});
    EXPECT_TRUE(eventually([&] { return b.holds(kClient); }));
    EXPECT_TRUE(eventually([&] { return a.cluster->state().queued == 0; }));
}

// A revoke this gateway made while cut off from Redis: at the reconnect it loads the grant
// back from Redis (the revoke is not there yet), then its own revoke, sent after, ends it
// here too.
TEST_F(ClusterRedis, ARevokeMadeDuringAnOutageIsNotUndoneByTheReconnect) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    ASSERT_EQ(b.store->grant(kClient, {&kSsh, 1}, 60, 0, 0), 0);
    ASSERT_TRUE(eventually([&] { return a.holds(kClient); }));
    redis.pause();  // Redis keeps its data: the grant is still there when it answers again
    ASSERT_TRUE(eventually([&] { return !a.cluster->connected(); }));
    EXPECT_EQ(a.store->revoke(kClient), 1u);
    redis.resume();
    ASSERT_TRUE(
        eventually([&] { return a.cluster->connected() && a.cluster->state().queued == 0; }));
    EXPECT_TRUE(eventually([&] { return !a.holds(kClient) && !b.holds(kClient); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(a.holds(kClient));
}

// A peer's revoke while this gateway was away from the stream (here: its cluster stopped and
// started again): it follows the stream from where it was, so the revoke still arrives.
TEST_F(ClusterRedis, APeersRevokeWhileAwayStillArrives) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    ASSERT_EQ(a.store->grant(kClient, {&kSsh, 1}, 60, 0, 0), 0);
    ASSERT_TRUE(eventually([&] { return b.holds(kClient); }));
    b.cluster->stop();
    EXPECT_EQ(a.store->revoke(kClient), 1u);
    ASSERT_TRUE(eventually([&] { return a.cluster->state().queued == 0; }));
    ASSERT_EQ(a.store->grant(*policy::parse_address("10.0.0.3"), {&kSsh, 1}, 60, 0, 0), 0);
    ASSERT_TRUE(eventually([&] { return a.cluster->state().queued == 0; }));
    b.cluster->start();
    EXPECT_TRUE(eventually([&] { return b.holds(*policy::parse_address("10.0.0.3")); }));
    EXPECT_TRUE(eventually([&] { return !b.holds(kClient); }));
}

// What a peer's revoke removed comes back from the next sweep, for the ranges' on_expire.
TEST_F(ClusterRedis, WhatAPeersRevokeEndedGoesToTheNextSweep) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a"), b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    ASSERT_EQ(b.store->grant(kClient, {&kSsh, 1}, 60, 3, 1), 0);  // b's own range 3
    ASSERT_TRUE(eventually([&] { return a.holds(kClient); }));
    EXPECT_EQ(a.store->revoke(kClient), 1u);
    ASSERT_TRUE(eventually([&] { return !b.holds(kClient); }));
    const auto gone = b.store->sweep(monotonic_ns());
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].value.range_id, 3u);
    EXPECT_EQ(gone[0].value.secret_id, 1u);
    EXPECT_TRUE(b.store->sweep(monotonic_ns()).empty());
}

// A Redis that stops answering costs a knock at most the timeout, then nothing.
TEST_F(ClusterRedis, AHungRedisIsAnOutageNotAHang) {
    XK_START_REDIS(redis);
    Gateway a(redis.endpoint(), "gw-a");
    ASSERT_TRUE(eventually([&] { return a.cluster->connected(); }));
    redis.pause();
    const int64_t now = time(nullptr);
    EXPECT_EQ(a.replay->insert(digest(9), now), policy::ReplayStore::Insert::added);
    EXPECT_FALSE(a.cluster->connected());
    EXPECT_EQ(a.replay->insert(digest(10), now), policy::ReplayStore::Insert::added);
    EXPECT_EQ(a.cluster->state().replay_local_only, 2u);
    redis.resume();
    EXPECT_TRUE(eventually([&] { return a.cluster->connected(); }));
}

// What another writer leaves in the stream is dropped, not applied.
TEST_F(ClusterRedis, AMalformedEventIsIgnored) {
    XK_START_REDIS(redis);
    Gateway b(redis.endpoint(), "gw-b");
    ASSERT_TRUE(eventually([&] { return b.cluster->connected(); }));
    RedisLink link(Endpoint{"", 0, redis.socket()}, "", std::chrono::milliseconds(500));
    ASSERT_EQ(link.connect(), "");
    const std::string at = std::to_string(wall_us());
    const std::string exp = std::to_string(wall_us() / 1000 + 30000);
    link.command({"XADD", "t:events", "*", "op", "grant", "node", "evil", "addr", "0.0.0.0/0",
                  "ports", "tcp/22", "expires_ms", exp, "timeout_s", "30", "at_us", at});
    link.command({"XADD", "t:events", "*", "op", "grant", "node", "gw-a", "addr", "10.0.0.2",
                  "ports", "tcp/22", "expires_ms", exp, "timeout_s", "30", "at_us", at});
    ASSERT_TRUE(eventually([&] { return b.holds(kClient); }));
    EXPECT_EQ(b.memory->list().size(), 1u);
    EXPECT_EQ(b.cluster->state().applied, 1u);
}

TEST_F(ClusterRedis, APasswordFileAuthenticates) {
    RedisServer locked("--requirepass s3cret-cluster-pw");
    XK_START_REDIS(locked);
    const std::string pw = locked.dir() + "/pw";
    std::ofstream(pw) << "s3cret-cluster-pw\n";
    chmod(pw.c_str(), 0600);
    Gateway a(locked.endpoint(), "gw-a", pw);
    EXPECT_TRUE(eventually([&] { return a.cluster->connected(); }));
    std::ofstream(pw) << "wrong\n";
    Gateway b(locked.endpoint(), "gw-b", pw);
    EXPECT_TRUE(eventually([&] { return b.cluster->state().outages == 1; }));
    EXPECT_FALSE(b.cluster->connected());
}

// Over TCP too, IPv6 loopback included.
TEST_F(ClusterRedis, ATcpRedisOnIpv6Loopback) {
    const int port = 20000 + getpid() % 20000;
    RedisServer tcp("--port " + std::to_string(port) + " --bind ::1 127.0.0.1");
    XK_START_REDIS(tcp);
    policy::Cluster c6 = over_unix(tcp.endpoint(), "gw-a"), c4 = over_unix(tcp.endpoint(), "gw-b");
    c6.unix_path.clear();
    c6.host = "::1";
    c6.port = static_cast<uint16_t>(port);
    c4.unix_path.clear();
    c4.host = "127.0.0.1";
    c4.port = static_cast<uint16_t>(port);
    Gateway a(c6), b(c4);
    ASSERT_TRUE(eventually([&] { return a.cluster->connected() && b.cluster->connected(); }));
    EXPECT_EQ(a.cluster->state().redis, "[::1]:" + std::to_string(port));
    ASSERT_EQ(a.store->grant(kClient, {&kSsh, 1}, 30, 0, 0), 0);
    EXPECT_TRUE(eventually([&] { return b.holds(kClient); }));
}

// The password is a secret: its file must be private, one line, and an error names the key.
TEST(ClusterConfig, APasswordFileIsCheckedLikeTheConfig) {
    RedisServer scratch;  // only for its private folder
    policy::Cluster c;
    c.redis = "unix:/run/redis.sock";
    c.unix_path = "/run/redis.sock";
    c.node = "gw-a";
    c.password_file = scratch.dir() + "/pw";
    std::ofstream(c.password_file) << "s3cret\n";
    chmod(c.password_file.c_str(), 0644);
    auto message = [&] {
        try {
            Cluster cluster(c, 0);
        } catch (const policy::ConfigError &e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(message().rfind("cluster.password_file: ", 0), 0u) << message();
    chmod(c.password_file.c_str(), 0600);
    EXPECT_EQ(message(), "");
    std::ofstream(c.password_file) << "two\nlines\n";
    EXPECT_EQ(message(), "cluster.password_file: must hold one line, the password");
    EXPECT_EQ(message().find("two"), std::string::npos);
}

}  // namespace
}  // namespace xk::cluster
