// The per-second budget the workers share: at most the rate in any second of the knocks'
// clock, whatever order the seconds are judged in.

#include <gtest/gtest.h>

#include "policy/shared_budget.hpp"

using xk::policy::SharedBudget;

namespace {
int take_all(SharedBudget &b, int64_t at, int n = 10) {
    int taken = 0;
    for (int i = 0; i < n; ++i) taken += b.take(at);
    return taken;
}
}  // namespace

TEST(SharedBudget, TheRateInEachSecondWhateverTheOrder) {
    SharedBudget b(4);
    const int64_t t0 = 1700000000;
    EXPECT_EQ(take_all(b, t0 + 1), 4);
    EXPECT_EQ(take_all(b, t0), 4);      // an earlier second judged later has its own 4
    EXPECT_EQ(take_all(b, t0 + 1), 0);  // and a second spent stays spent
    EXPECT_EQ(take_all(b, t0 + 2, 3), 3);
    EXPECT_EQ(take_all(b, t0 + 2), 1);
    EXPECT_EQ(take_all(b, t0 + 600), 4);
}
