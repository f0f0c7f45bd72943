// The magic packet and its Ethernet frame, byte for byte.
#include <gtest/gtest.h>

#include "wake/magic_packet.hpp"

using namespace xk::wake;

namespace {

const Mac kTarget{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
const Mac kGateway{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};

TEST(MagicPacket, SixFfThenSixteenMacs) {
    const MagicPacket p = magic_packet(kTarget);
    ASSERT_EQ(p.size(), 102u);
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(p[i], 0xff) << i;
    for (size_t rep = 0; rep < 16; ++rep) {
        for (size_t i = 0; i < 6; ++i) EXPECT_EQ(p[6 + rep * 6 + i], kTarget[i]) << rep << "/" << i;
    }
}

TEST(MagicPacket, FrameIsBroadcastEtherType0842) {
    const WakeFrame f = wake_frame(kGateway, kTarget);
    ASSERT_EQ(f.size(), 116u);
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(f[i], 0xff);
    EXPECT_TRUE(std::equal(kGateway.begin(), kGateway.end(), f.begin() + 6));
    EXPECT_EQ(f[12], 0x08);
    EXPECT_EQ(f[13], 0x42);
    const MagicPacket p = magic_packet(kTarget);
    EXPECT_TRUE(std::equal(p.begin(), p.end(), f.begin() + 14));
}

TEST(MagicPacket, RecognizesOnlyItsTarget) {
    const MagicPacket p = magic_packet(kTarget);
    EXPECT_TRUE(is_magic_packet_for(p.data(), p.size(), kTarget));
    EXPECT_FALSE(is_magic_packet_for(p.data(), p.size(), kGateway));
    EXPECT_FALSE(is_magic_packet_for(p.data(), p.size() - 1, kTarget));
    MagicPacket broken = p;
    broken[101] ^= 1;  // the last copy of the MAC counts too
    EXPECT_FALSE(is_magic_packet_for(broken.data(), broken.size(), kTarget));
}

TEST(MagicPacket, FormatsMac) {
    EXPECT_EQ(format_mac(kTarget), "02:00:5e:10:00:01");
}

}  // namespace
