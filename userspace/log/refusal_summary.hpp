#pragma once
// Refused knocks, counted per reason and logged as one summary line per interval, so a
// flood of bad knocks costs a few relaxed increments and no log line each.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "spa/reject.hpp"

namespace xk::log {

using RefusalCounts = std::array<uint64_t, spa::kRejectCount>;

class RefusalSummary {
  public:
    static constexpr int64_t kInterval_s = 10;

    // Hot path, any thread: one relaxed increment, no lock, no allocation.
    void bump(spa::Reject reason) noexcept;
    // Reads and zeroes every count; a bump racing with it lands in this take or the next.
    RefusalCounts take() noexcept;
    // From one thread (the daemon's 1 s tick). The first call starts the interval; once
    // kInterval_s have passed it takes the counts and logs them at info. Returns that line,
    // or "" (interval not over, or nothing refused: then nothing is logged).
    std::string flush(int64_t now_s);
    // flush() at the monotonic clock's now: the daemon's call.
    std::string flush();

  private:
    // Threads bump their own shard so a flood does not bounce one cache line between cores.
    static constexpr size_t kShards = 8;
    struct alignas(64) Shard {
        std::array<std::atomic<uint64_t>, spa::kRejectCount> n{};
    };
    std::array<Shard, kShards> shards_{};
    int64_t interval_start_s_ = INT64_MIN;
};

// "refused knocks in the last 10 s: hmac_mismatch 1234, replay 5": non-zero reasons only,
// most frequent first (ties in enum order); "" when all are zero.
std::string describe_refusals(const RefusalCounts &counts, int64_t seconds);

// The daemon's one summary: knock handlers bump it, the gateway's tick flushes it.
RefusalSummary &refusals();

}  // namespace xk::log
