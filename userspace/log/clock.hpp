#pragma once
// CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads, so expiries written
// by userspace and judged by the XDP program agree. The one definition in the tree.
// (CLOCK_MONOTONIC for expiries; the wall clock only for what crosses hosts.)

#include <time.h>

#include <cstdint>

namespace xk {

inline uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The wall clock in microseconds: what gateways of a cluster compare (never monotonic values).
inline int64_t wall_us() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace xk
