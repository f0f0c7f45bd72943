#include "log/refusal_summary.hpp"

#include <gtest/gtest.h>

#include <thread>

using xk::log::RefusalSummary;
using xk::spa::Reject;

namespace {

void bump(RefusalSummary &s, Reject r, int times) {
    for (int i = 0; i < times; ++i) s.bump(r);
}

TEST(RefusalSummary, OneLineWithNonZeroReasonsMostFrequentFirst) {
    RefusalSummary s;
    EXPECT_EQ(s.flush(1000), "");  // starts the interval
    bump(s, Reject::replay, 5);
    bump(s, Reject::hmac_mismatch, 1234);
    bump(s, Reject::too_old, 5);  // same count as replay: enum order breaks the tie
    EXPECT_EQ(s.flush(1010),
              "refused knocks in the last 10 s: hmac_mismatch 1234, replay 5, too_old 5");
}

TEST(RefusalSummary, AtMostOneLinePerTenSecondsAndNoCountLost) {
    RefusalSummary s;
    EXPECT_EQ(s.flush(100), "");
    s.bump(Reject::replay);
    for (int64_t t = 101; t < 110; ++t) EXPECT_EQ(s.flush(t), "") << t;
    EXPECT_EQ(s.flush(110), "refused knocks in the last 10 s: replay 1");
    s.bump(Reject::replay);
    s.bump(Reject::replay);
    EXPECT_EQ(s.flush(111), "");  // the next line waits for its own 10 s
    EXPECT_EQ(s.flush(119), "");
    EXPECT_EQ(s.flush(120), "refused knocks in the last 10 s: replay 2");
    EXPECT_EQ(s.flush(130), "");  // drained: nothing repeated
}

TEST(RefusalSummary, NothingWhenNothingWasRefused) {
    RefusalSummary s;
    s.bump(Reject::ok);  // an accepted knock is no refusal
    s.bump(static_cast<Reject>(250));
    EXPECT_EQ(s.flush(0), "");
    EXPECT_EQ(s.flush(10), "");
    EXPECT_EQ(s.flush(20), "");
}

TEST(RefusalSummary, ALateTickSaysHowLongItCovered) {
    RefusalSummary s;
    s.flush(0);
    s.bump(Reject::bad_base64);
    EXPECT_EQ(s.flush(13), "refused knocks in the last 13 s: bad_base64 1");
}

TEST(RefusalSummary, ConcurrentBumpsSumExactlyWhileFlushing) {
    RefusalSummary s;
    constexpr int kPerThread = 2000000;
    auto worker = [&](Reject r) {
        for (int i = 0; i < kPerThread; ++i) {
            s.bump(r);
            s.bump(Reject::hmac_mismatch);
        }
    };
    xk::log::RefusalCounts seen{};
    auto drain = [&] {
        auto c = s.take();
        for (size_t k = 0; k < c.size(); ++k) seen[k] += c[k];
    };
    std::atomic<int> running{2};
    auto counted = [&](Reject r) {
        worker(r);
        running.fetch_sub(1);
    };
    std::thread a(counted, Reject::replay), b(counted, Reject::too_new);
    while (running.load() != 0) drain();  // drains race the bumps: none lost or doubled
    a.join();
    b.join();
    drain();
    EXPECT_EQ(seen[static_cast<size_t>(Reject::hmac_mismatch)], 2u * kPerThread);
    EXPECT_EQ(seen[static_cast<size_t>(Reject::replay)], uint64_t{kPerThread});
    EXPECT_EQ(seen[static_cast<size_t>(Reject::too_new)], uint64_t{kPerThread});
    uint64_t total = 0;
    for (uint64_t n : seen) total += n;
    EXPECT_EQ(total, 4u * kPerThread);
}

TEST(RefusalSummary, TheDaemonHasOneSummary) {
    EXPECT_EQ(&xk::log::refusals(), &xk::log::refusals());
}

}  // namespace
