// The source accounting table lives on zero-fill-on-demand pages and clear() hands them
// back to the kernel: a cleared table must read empty everywhere and take exactly as many
// pairs as a fresh one; a table sized for a million-entry map works while barely touched.
#include <gtest/gtest.h>

#include <string>

#include "auth/source_counts.hpp"

namespace xk::auth {
namespace {

policy::Address v4(unsigned i) {
    return *policy::parse_address("198.51." + std::to_string(i / 256) + "." +
                                  std::to_string(i % 256));
}

// How many new pairs the table takes before it says full (3/4 of its slots).
unsigned fill(SourceCounts &counts, unsigned from) {
    unsigned n = 0;
    while (counts.add(v4(from + n), n % 2, 1 + n % 3)) ++n;
    return n;
}

TEST(SourceCounts, ClearedTableReadsEmptyAndTakesAsManyAsAFreshOne) {
    SourceCounts counts(48, 2);  // 128 slots: full at 96 pairs
    const unsigned fresh = fill(counts, 0);
    ASSERT_EQ(fresh, 96u);
    EXPECT_EQ(counts.held(v4(5), 1), 1u + 5 % 3);
    counts.clear();
    for (unsigned a = 0; a < fresh; ++a) {
        ASSERT_EQ(counts.held(v4(a), 0), 0u) << a;
        ASSERT_EQ(counts.held(v4(a), 1), 0u) << a;
    }
    for (uint32_t r = 0; r < 2; ++r) {
        EXPECT_EQ(counts.range(r).sources, 0u);
        EXPECT_EQ(counts.range(r).entries, 0u);
    }
    // Other sources this time: stale slots would turn some away early or be found again.
    EXPECT_EQ(fill(counts, 1000), fresh);
    EXPECT_EQ(counts.held(v4(0), 0), 0u);
    EXPECT_EQ(counts.range(0).sources + counts.range(1).sources, fresh);
}

TEST(SourceCounts, ResetKeepsTheTableEmptyForTheNewRanges) {
    SourceCounts counts(48, 2);
    ASSERT_TRUE(counts.add(v4(1), 0, 2));
    counts.reset(3);
    EXPECT_EQ(counts.ranges(), 3u);
    EXPECT_EQ(counts.held(v4(1), 0), 0u);
    EXPECT_EQ(counts.range(0).entries, 0u);
    EXPECT_EQ(fill(counts, 0), 96u);
}

// 2^21 slots (48 MiB mapped): grants land on pages far apart and are found again; a
// removal frees the pair.
TEST(SourceCounts, MillionEntryMapTableWorks) {
    SourceCounts counts(1u << 20, 1);
    for (unsigned a = 0; a < 5000; ++a) ASSERT_TRUE(counts.add(v4(a), 0, 1 + a % 2));
    EXPECT_EQ(counts.range(0).sources, 5000u);
    EXPECT_EQ(counts.range(0).entries, 7500u);
    for (unsigned a = 0; a < 5000; a += 2) counts.remove(v4(a), 0, 1);
    EXPECT_EQ(counts.range(0).sources, 2500u);
    for (unsigned a = 0; a < 5000; ++a) ASSERT_EQ(counts.held(v4(a), 0), a % 2 ? 2u : 0u) << a;
}

}  // namespace
}  // namespace xk::auth
