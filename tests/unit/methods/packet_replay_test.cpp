// PacketReplay: one replay verdict per packet, whatever the number of ranges trying it.

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "methods/packet_replay.hpp"
#include "policy/replay_cache.hpp"

using xk::methods::PacketReplay;
using xk::policy::ReplayCache;
using xk::spa::Reject;

namespace {

std::span<const uint8_t> bytes(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

struct PacketReplayTest : ::testing::Test {
    ReplayCache cache{"", 240};
    xk::spa::ReplayDigester digester;
    const std::string wire = "an authentic packet";
    const int64_t now = 1000;
};

}  // namespace

TEST_F(PacketReplayTest, AFreshPacketIsRecordedOnceAndItsVerdictKeptForEveryRange) {
    PacketReplay replay(&cache, digester, bytes(wire), now);
    EXPECT_EQ(replay.check(), Reject::ok);
    EXPECT_FALSE(replay.decided());
    EXPECT_FALSE(cache.contains(xk::spa::replay_digest(bytes(wire)), now));
    EXPECT_EQ(replay.record({}, now), Reject::ok);
    EXPECT_TRUE(replay.decided());
    EXPECT_TRUE(cache.contains(xk::spa::replay_digest(bytes(wire)), now));
    // A second range trying the same packet: its own record is no replay.
    EXPECT_EQ(replay.check(), Reject::ok);
    EXPECT_EQ(replay.record({}, now), Reject::ok);
}

TEST_F(PacketReplayTest, TheNextPacketWithTheSameWireIsAReplayForEveryRange) {
    PacketReplay first(&cache, digester, bytes(wire), now);
    ASSERT_EQ(first.check(), Reject::ok);
    ASSERT_EQ(first.record({}, now), Reject::ok);
    PacketReplay again(&cache, digester, bytes(wire), now + 1);
    EXPECT_EQ(again.check(), Reject::replay);
    EXPECT_TRUE(again.decided());
    EXPECT_EQ(again.check(), Reject::replay);  // the next range
    EXPECT_EQ(again.record({}, now + 1), Reject::replay);
}

TEST_F(PacketReplayTest, WhatAPacketSaysIsRememberedToo) {
    const std::string said = "rand:user:1000:1:msg::0";
    PacketReplay first(&cache, digester, bytes(wire), now);
    ASSERT_EQ(first.check(), Reject::ok);
    ASSERT_EQ(first.record(bytes(said), now), Reject::ok);
    EXPECT_TRUE(cache.contains(xk::spa::replay_digest(bytes(said)), now));
    // Another spelling of the same message: a new wire, the same words.
    const std::string other = "the same packet, cut";
    PacketReplay cut(&cache, digester, bytes(other), now);
    EXPECT_EQ(cut.check(), Reject::ok);
    EXPECT_EQ(cut.record(bytes(said), now), Reject::replay);
    EXPECT_EQ(cut.record(bytes(said), now), Reject::replay);  // the next range: the same
}

TEST_F(PacketReplayTest, AFullCacheRefusesAndTheRefusalHoldsForTheNextRange) {
    ReplayCache tiny("", 240, 1);  // 64 slots per shard
    xk::spa::ReplayDigest wire_digest = xk::spa::replay_digest(bytes(wire));
    for (uint32_t i = 0; i < 64; ++i) {
        xk::spa::ReplayDigest d{};
        d[0] = wire_digest[0];  // the packet's shard
        d[31] = 0x5a;
        std::memcpy(d.data() + 8, &i, sizeof(i));
        ASSERT_EQ(tiny.insert(d, now), ReplayCache::Insert::added) << i;
    }
    PacketReplay replay(&tiny, digester, bytes(wire), now);
    EXPECT_EQ(replay.check(), Reject::ok);
    EXPECT_EQ(replay.record({}, now), Reject::replay_cache_full);
    EXPECT_EQ(replay.check(), Reject::replay_cache_full);  // never accepted by a later range
    EXPECT_EQ(replay.record({}, now), Reject::replay_cache_full);
}
