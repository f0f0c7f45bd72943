// The XDP gate as the daemon loads it (gate::Gate::load: pinned, never attached), driven
// by BPF_PROG_TEST_RUN. Ports come from a config (gate/ports.hpp), grants from the
// production store (auth::Authorized), AF_XDP sockets from xsk::XskSocket; the few
// direct map writes left are for states no production path produces, each said why.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/packet_builder.hpp"
#include "gate/counters.hpp"
#include "gate/gate.hpp"
#include "policy/config.hpp"
#include "xdpknock/maps.h"

namespace xk::auth {
class Authorized;
class AuthFilter;
}  // namespace xk::auth
namespace xk::xsk {
class XskSocket;
}

namespace xk::test {

// bpf_ktime_get_ns() clock: CLOCK_MONOTONIC.
uint64_t monotonicNowNs();

using Counters = gate::Counters;

class LoadedGate {
  public:
    // rawIp: loaded as for a link without L2 header (tun, ppp): frames start at IP.
    // Pinned under a root private to this process, with a fake interface name of its own.
    // authorizedMax: the authorized map's size (the config's authorized_max).
    explicit LoadedGate(bool rawIp = false,
                        uint32_t authorizedMax = XK_AUTH_MAX_ENTRIES);  // throws, naming the step
    ~LoadedGate();                                                      // removes its pins
    LoadedGate(const LoadedGate &) = delete;
    LoadedGate &operator=(const LoadedGate &) = delete;

    const gate::Gate &gate() const { return *gate_; }
    // The production store (owner of the gate's pre-filter), and a writer's view of the
    // filter, for what the gate answers.
    auth::Authorized &store() { return *store_; }
    auth::AuthFilter &filter() { return *filter_; }

    // What the daemon writes from its config before attaching: ports, wake targets and
    // the sequence tables (each sequence range at its first sequence, generation 0).
    void writeConfig(const policy::Config &config);
    // Ports, grants and wake services the frame catalog (gate_frames.hpp) expects.
    void installCatalogWorld();

    // A hand-written ports entry, for values no config can produce.
    void setPort(uint16_t port, const xk_port &value);
    xk_port port(uint16_t port) const;
    // The GCRA state of a source's knock bucket; tatNs <= now means a full bucket.
    void setKnockBucket(const Ipv6Addr &source, uint64_t tatNs);

    // Through the production store, as a knock grants: extend-only. Throws on refusal.
    void grant(std::string_view addr, policy::PortRef port, uint32_t timeoutS, uint32_t rangeId = 0,
               uint32_t secretId = 0);
    // A raw entry with any expiry, past ones included. The store never shortens an entry
    // and never writes one already expired, so those states need this direct write.
    void authorize(const Ipv6Addr &addr, uint8_t proto, uint16_t port, uint64_t expiresNs,
                   uint32_t rangeId = 0, uint32_t secretId = 0);

    // Wake-on-LAN: a host's debounce slot, and the events the ring buffer holds (drained).
    void resetWakeDebounce(uint32_t host);
    std::vector<xk_wake_event> drainWakeEvents();

    // Sequences: completions the ring buffer holds (drained), and a source's progress.
    // Direct writes: progress older than any test may wait for.
    std::vector<xk_seq_event> drainSeqEvents();
    std::vector<xk_http_event> drainHttpEvents();
    std::optional<xk_seq_state> seqState(const Ipv6Addr &source, uint32_t seqIndex) const;
    void setSeqState(const Ipv6Addr &source, uint32_t seqIndex, const xk_seq_state &state);
    void clearSeqState();

    // TCP flows to protected ports (saddr = the remote peer, as the gate keys them).
    // Direct writes: a seeded flow (gate/flow_seed) comes from live sockets, not a value.
    void setFlow(const xk_flow_key &key, uint64_t expiresNs, bool closing = false);
    std::optional<xk_flow> flow(const xk_flow_key &key) const;
    void clearFlows();
    // UDP flows likewise (udp_flows): read, expired by hand, cleared.
    void setUdpFlow(const xk_flow_key &key, uint64_t expiresNs, bool stream);
    std::optional<xk_udp_flow> udpFlow(const xk_flow_key &key) const;
    void clearUdpFlows();

    // An AF_XDP socket on lo's queue `queue`, registered in xsks by the production socket
    // code: test runs see rx queue 0, so a socket there turns knocks into redirects.
    std::unique_ptr<xsk::XskSocket> bindKnockSocket(uint32_t queue = 0) const;
    void clearXsk(uint32_t queue);

    struct Run {
        int err;              // 0 or -errno from bpf_prog_test_run_opts
        uint32_t retval;      // XDP action
        uint32_t durationNs;  // kernel's average per repetition
    };
    Run run(std::span<const uint8_t> frame, uint32_t repeat = 1) const;
    // One run's output: the metadata XDP put in front of the packet, then the packet.
    Bytes output(std::span<const uint8_t> frame) const;

    Counters counters() const;  // each summed over all possible CPUs

  private:
    std::unique_ptr<gate::Gate> gate_;
    std::unique_ptr<auth::Authorized> store_;
    std::unique_ptr<auth::AuthFilter> filter_;
    // Pinned maps gate::Gate has no accessor for, opened by their pin path.
    int knockBucketsFd_ = -1, wakeLastFd_ = -1;  // the gate's own: closed with it
};

// The catalog world (installCatalogWorld) loaded once per process and gate kind: loading is
// the slow part. Throws (failing the test) if the program does not load.
LoadedGate &catalogGate(bool rawIp = false);

}  // namespace xk::test
