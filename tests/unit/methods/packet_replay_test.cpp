// PacketReplay: one replay verdict per packet, whatever the number of ranges trying it.

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
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
    EXPECT_EQ(replay.check(nullptr), Reject::ok);
    EXPECT_FALSE(replay.decided());
    EXPECT_FALSE(cache.contains(xk::spa::replay_digest(bytes(wire)), now));
    EXPECT_EQ(replay.record({}, now), Reject::ok);
    EXPECT_TRUE(replay.decided());
    EXPECT_TRUE(cache.contains(xk::spa::replay_digest(bytes(wire)), now));
    // A second range trying the same packet: its own record is no replay.
    EXPECT_EQ(replay.check(nullptr), Reject::ok);
    EXPECT_EQ(replay.record({}, now), Reject::ok);
}

TEST_F(PacketReplayTest, TheNextPacketWithTheSameWireIsAReplayForEveryRange) {
    PacketReplay first(&cache, digester, bytes(wire), now);
    ASSERT_EQ(first.check(nullptr), Reject::ok);
    ASSERT_EQ(first.record({}, now), Reject::ok);
    PacketReplay again(&cache, digester, bytes(wire), now + 1);
    EXPECT_EQ(again.check(nullptr), Reject::replay);
    EXPECT_TRUE(again.decided());
    EXPECT_EQ(again.check(nullptr), Reject::replay);  // the next range
    EXPECT_EQ(again.record({}, now + 1), Reject::replay);
}

TEST_F(PacketReplayTest, WhatAPacketSaysIsRememberedToo) {
    const std::string said = "rand:user:1000:1:msg::0";
    PacketReplay first(&cache, digester, bytes(wire), now);
    ASSERT_EQ(first.check(nullptr), Reject::ok);
    ASSERT_EQ(first.record(bytes(said), now), Reject::ok);
    EXPECT_TRUE(cache.contains(xk::spa::replay_digest(bytes(said)), now));
    // Another spelling of the same message: a new wire, the same words.
    const std::string other = "the same packet, cut";
    PacketReplay cut(&cache, digester, bytes(other), now);
    EXPECT_EQ(cut.check(nullptr), Reject::ok);
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
    EXPECT_EQ(replay.check(nullptr), Reject::ok);
    EXPECT_EQ(replay.record({}, now), Reject::replay_cache_full);
    EXPECT_EQ(replay.check(nullptr), Reject::replay_cache_full);  // never accepted by a later range
    EXPECT_EQ(replay.record({}, now), Reject::replay_cache_full);
}

namespace {

// A key as a verified HMAC tag gives it (spa::tag_replay_key): any 32 uniform bytes.
xk::spa::ReplayDigest tag_key(uint8_t n) {
    std::array<uint8_t, 32> mac{};
    for (size_t i = 0; i < mac.size(); ++i) mac[i] = static_cast<uint8_t>(n * 31 + i * 7);
    return xk::spa::tag_replay_key(mac);
}

}  // namespace

TEST_F(PacketReplayTest, AnHmacPacketIsKeyedByItsTagAloneAndItsResendIsAReplay) {
    const xk::spa::ReplayDigest tag = tag_key(1);
    PacketReplay first(&cache, digester, bytes(wire), now);
    ASSERT_EQ(first.check(&tag), Reject::ok);
    ASSERT_EQ(first.record({}, now), Reject::ok);
    EXPECT_TRUE(cache.contains(tag, now));
    EXPECT_FALSE(cache.contains(xk::spa::replay_digest(bytes(wire)), now));  // no SHA-256 spent
    PacketReplay again(&cache, digester, bytes(wire), now + 1);
    EXPECT_EQ(again.check(&tag), Reject::replay);
    EXPECT_EQ(again.check(&tag), Reject::replay);  // the next range
    EXPECT_EQ(again.record({}, now + 1), Reject::replay);
}

TEST_F(PacketReplayTest, ShortTagsArePaddedWithTheirLengthAndLongOnesCut) {
    const uint8_t md5[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    xk::spa::ReplayDigest k = xk::spa::tag_replay_key(md5);
    EXPECT_EQ(std::memcmp(k.data(), md5, 16), 0);
    EXPECT_EQ(k[31], 16);
    EXPECT_EQ(k[16], 0);
    uint8_t sha512[64];
    for (uint8_t i = 0; i < 64; ++i) sha512[i] = static_cast<uint8_t>(0xc0 + i);
    k = xk::spa::tag_replay_key(sha512);
    EXPECT_EQ(std::memcmp(k.data(), sha512, 32), 0);
}

namespace {

// A journal as xdpknockd wrote it before tag keys (format 1: {wire digest, first seen}).
std::string old_journal(const std::string &dir, const xk::spa::ReplayDigest &d, int64_t seen) {
    struct Old {
        xk::spa::ReplayDigest digest;
        int64_t seen;
    } rec{d, seen};
    std::string path = dir + "/replay.journal";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(&rec), sizeof(rec));
    return path;
}

}  // namespace

TEST_F(PacketReplayTest, AnUpgradeKeepsRefusingWhatTheOldJournalHeldByItsWireDigest) {
    char dir[] = "/tmp/xk-packet-replay-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    const int64_t t = time(nullptr);
    const std::string path = old_journal(dir, xk::spa::replay_digest(bytes(wire)), t - 10);
    const xk::spa::ReplayDigest tag = tag_key(2);
    for (int restart = 0; restart < 2; ++restart) {  // and again from the rewritten journal
        ReplayCache upgraded(path, 240);
        EXPECT_TRUE(upgraded.holds_wire_digests(t));
        PacketReplay resent(&upgraded, digester, bytes(wire), t);
        EXPECT_EQ(resent.check(&tag), Reject::replay) << "restart " << restart;
        // Once the last old digest expired, HMAC packets skip the SHA-256 again.
        EXPECT_FALSE(upgraded.holds_wire_digests(t - 10 + 241));
    }
    ReplayCache fresh("", 240);
    EXPECT_FALSE(fresh.holds_wire_digests(t));
    std::filesystem::remove_all(dir);
}
