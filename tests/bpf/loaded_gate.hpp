// The XDP gate loaded from its skeleton (never attached), driven by BPF_PROG_TEST_RUN.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "common/packet_builder.hpp"
#include "xdpknock/maps.h"

struct xdpknock;

namespace xk::test {

// bpf_ktime_get_ns() clock: CLOCK_MONOTONIC.
uint64_t monotonicNowNs();

using Counters = std::array<uint64_t, XK_CNT__MAX>;

class LoadedGate {
  public:
    LoadedGate();  // throws std::runtime_error naming the failed step and errno
    ~LoadedGate();
    LoadedGate(const LoadedGate &) = delete;
    LoadedGate &operator=(const LoadedGate &) = delete;

    void setPort(uint16_t port, uint16_t flags);
    void setPort(uint16_t port, const xk_port &value);
    // The GCRA state of a source's knock bucket; tatNs <= now means a full bucket.
    void setKnockBucket(const Ipv6Addr &source, uint64_t tatNs);
    void authorize(const Ipv6Addr &addr, uint8_t proto, uint16_t port, uint64_t expiresNs);
    // Ports and grants the frame catalog (gate_frames.hpp) expects.
    void installCatalogWorld();

    void setXsk(uint32_t queue, int fd);
    void clearXsk(uint32_t queue);

    struct Run {
        int err;              // 0 or -errno from bpf_prog_test_run_opts
        uint32_t retval;      // XDP action
        uint32_t durationNs;  // kernel's average per repetition
    };
    Run run(std::span<const uint8_t> frame, uint32_t repeat = 1) const;

    Counters counters() const;  // each summed over all possible CPUs

  private:
    struct xdpknock *skel_ = nullptr;
};

}  // namespace xk::test
