// The XDP gate loaded from its skeleton (never attached), driven by BPF_PROG_TEST_RUN.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/packet_builder.hpp"
#include "xdpknock/maps.h"

struct xdpknock;

namespace xk::test {

// bpf_ktime_get_ns() clock: CLOCK_MONOTONIC.
uint64_t monotonicNowNs();

using Counters = std::array<uint64_t, XK_CNT__MAX>;

class LoadedGate {
  public:
    // rawIp: loaded as for a link without L2 header (tun, ppp): frames start at IP.
    explicit LoadedGate(bool rawIp = false);  // throws, naming the failed step and errno
    ~LoadedGate();
    LoadedGate(const LoadedGate &) = delete;
    LoadedGate &operator=(const LoadedGate &) = delete;

    void setPort(uint16_t port, uint16_t flags);
    void setPort(uint16_t port, const xk_port &value);
    // The GCRA state of a source's knock bucket; tatNs <= now means a full bucket.
    void setKnockBucket(const Ipv6Addr &source, uint64_t tatNs);
    void authorize(const Ipv6Addr &addr, uint8_t proto, uint16_t port, uint64_t expiresNs,
                   uint32_t rangeId = 0, uint32_t secretId = 0);
    // Ports and grants the frame catalog (gate_frames.hpp) expects.
    void installCatalogWorld();

    // Wake-on-LAN: a protected port whose SYNs wake `host`, a per-address binding, the
    // host's debounce slot, and the events the ring buffer holds (drained).
    void setWakePort(uint16_t port, uint16_t host, uint16_t extraFlags = 0);
    void setWakeTarget(const Ipv6Addr &daddr, uint16_t port, uint32_t host);
    void resetWakeDebounce(uint32_t host);
    std::vector<xk_wake_event> drainWakeEvents();

    // TCP flows to protected ports (saddr = the remote peer, as the gate keys them).
    void setFlow(const xk_flow_key &key, uint64_t expiresNs, bool closing = false);
    std::optional<xk_flow> flow(const xk_flow_key &key) const;
    void clearFlows();

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

// The catalog world (installCatalogWorld) loaded once per process and gate kind: loading is
// the slow part. Throws (failing the test) if the program does not load.
LoadedGate &catalogGate(bool rawIp = false);

}  // namespace xk::test
