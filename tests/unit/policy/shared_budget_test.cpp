// The per-second budget the workers share: a second's worth at once, then the rate.

#include <gtest/gtest.h>

#include "policy/shared_budget.hpp"

using xk::policy::SharedBudget;
using namespace std::chrono_literals;

TEST(SharedBudget, BurstOfOneSecondThenTheRate) {
    SharedBudget b(4);
    const auto t0 = SharedBudget::Clock::time_point{} + 100s;
    int taken = 0;
    for (int i = 0; i < 10; ++i) taken += b.take(t0);
    EXPECT_EQ(taken, 4);
    EXPECT_FALSE(b.take(t0 + 200ms));  // 0.8 of a unit
    EXPECT_TRUE(b.take(t0 + 250ms));
    EXPECT_FALSE(b.take(t0 + 250ms));
    taken = 0;
    for (int i = 0; i < 10; ++i) taken += b.take(t0 + 60s);  // never more than a second's worth
    EXPECT_EQ(taken, 4);
    EXPECT_FALSE(b.take(t0 + 59s));  // a clock going back refills nothing
}
