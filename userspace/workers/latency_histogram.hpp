#pragma once
// Knock -> authorized latency, one fixed-size log-linear histogram per worker: recording is
// an index computation and a relaxed add (no allocation, no lock); status merges them.

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace xk::workers {

class LatencyHistogram {
  public:
    // 8 buckets per power of two (<= 12.5% error) from 16 ns to ~2^40 ns (18 min).
    static constexpr unsigned kSub = 8;
    static constexpr unsigned kBuckets = 16 + (40 - 4) * kSub;

    void record(uint64_t ns) { counts_[index(ns)].fetch_add(1, std::memory_order_relaxed); }

    // Snapshot for merging and quantiles (status side, not the hot path).
    using Counts = std::array<uint64_t, kBuckets>;
    void add_to(Counts &out) const {
        for (unsigned i = 0; i < kBuckets; ++i)
            out[i] += counts_[i].load(std::memory_order_relaxed);
    }

    static unsigned index(uint64_t ns) {
        if (ns < 16) return static_cast<unsigned>(ns);
        unsigned e = 63u - static_cast<unsigned>(std::countl_zero(ns));  // >= 4
        unsigned i = 16 + (e - 4) * kSub + static_cast<unsigned>((ns >> (e - 3)) & (kSub - 1));
        return i < kBuckets ? i : kBuckets - 1;
    }
    // The upper bound of bucket i: quantiles err on the slow side.
    static uint64_t upper_ns(unsigned i) {
        if (i < 16) return i;
        unsigned e = 4 + (i - 16) / kSub, sub = (i - 16) % kSub;
        return (uint64_t{1} << e) + (uint64_t{sub + 1} << (e - 3)) - 1;
    }
    // q in [0, 1]; 0 when nothing was recorded.
    static uint64_t quantile_ns(const Counts &c, double q) {
        uint64_t total = 0;
        for (uint64_t v : c) total += v;
        if (total == 0) return 0;
        auto rank = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1;
        uint64_t seen = 0;
        for (unsigned i = 0; i < kBuckets; ++i) {
            seen += c[i];
            if (seen >= rank) return upper_ns(i);
        }
        return upper_ns(kBuckets - 1);
    }

  private:
    std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

}  // namespace xk::workers
