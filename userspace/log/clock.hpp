#pragma once
// CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads, so expiries written
// by userspace and judged by the XDP program agree. The one definition in the tree.

#include <time.h>

#include <cstdint>

namespace xk {

inline uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace xk
