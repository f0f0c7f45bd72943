// Every rx queue gets a socket: rx-only and combined channels each bring their own. Each
// socket's UMEM: frames of 2 KiB when the link's MTU fits, a power-of-two count.
#include <gtest/gtest.h>

#include <string>

#include "xsk/xsk_socket.hpp"

namespace xk::xsk {
namespace {

TEST(RxQueues, RxOnlyAndCombinedChannelsAddUp) {
    EXPECT_EQ(rx_queues_from_channels(2, 4), 6u);  // the larger (4) left 2 queues uncovered
    EXPECT_EQ(rx_queues_from_channels(4, 0), 4u);
    EXPECT_EQ(rx_queues_from_channels(0, 8), 8u);
}

TEST(RxQueues, ADriverThatSaysNothingHasOne) {
    EXPECT_EQ(rx_queues_from_channels(0, 0), 1u);
}

TEST(RxQueues, LoopbackWithoutChannelsHasOne) {
    EXPECT_EQ(rx_queue_count("lo"), 1u);
}

TEST(UmemFrames, TwoKiBWhenAFrameOfTheMtuFitsBehindTheHeadroom) {
    EXPECT_EQ(frame_size_for_mtu(1500), 2048u);
    EXPECT_EQ(frame_size_for_mtu(1770), 2048u);  // + 14 + 2 VLAN tags + 256 headroom = 2048
    EXPECT_EQ(frame_size_for_mtu(1771), 4096u);
    EXPECT_EQ(frame_size_for_mtu(9000), 4096u);
    EXPECT_EQ(frame_size_for_mtu(0), 4096u);  // unknown: the safe size
}

TEST(UmemFrames, ACountThatIsNoPowerOfTwoIsRefusedNamingTheKey) {
    XskOptions o;
    o.frames = 1000;
    try {
        XskSocket::open("lo", 0, -1, o);
        FAIL() << "opened with 1000 frames";
    } catch (const XskError &e) {
        EXPECT_NE(std::string(e.what()).find("umem_frames"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace xk::xsk
