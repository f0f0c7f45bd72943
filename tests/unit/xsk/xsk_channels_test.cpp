// Every rx queue gets a socket: rx-only and combined channels each bring their own.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace xk::xsk
