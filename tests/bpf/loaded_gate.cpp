#include "loaded_gate.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/in.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gate_frames.hpp"
#include "xdpknock.skel.h"

namespace xk::test {
namespace {

[[noreturn]] void fail(const char *step, int err) {
    throw std::runtime_error(std::string(step) + ": " + std::strerror(err < 0 ? -err : err));
}

void check(const char *step, int rc) {
    if (rc) fail(step, rc < 0 && rc != -1 ? rc : errno);
}

}  // namespace

uint64_t monotonicNowNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

LoadedGate::LoadedGate(bool rawIp) {
    skel_ = xdpknock::open();
    if (!skel_) fail("open skeleton", errno);
    skel_->rodata->xk_raw_ip = rawIp;
    if (int rc = xdpknock::load(skel_)) {
        xdpknock::destroy(skel_);
        fail("load skeleton", rc);
    }
}

LoadedGate::~LoadedGate() {
    xdpknock::destroy(skel_);
}

LoadedGate &catalogGate(bool rawIp) {
    static std::unique_ptr<LoadedGate> loaded[2];
    std::unique_ptr<LoadedGate> &g = loaded[rawIp];
    if (!g) {
        g = std::make_unique<LoadedGate>(rawIp);
        g->installCatalogWorld();
    }
    return *g;
}

void LoadedGate::setPort(uint16_t port, uint16_t flags) {
    xk_port value{};
    value.flags = flags;
    setPort(port, value);
}

void LoadedGate::setPort(uint16_t port, const xk_port &value) {
    uint32_t key = port;
    check("update ports", bpf_map_update_elem(bpf_map__fd(skel_->maps.ports), &key, &value, 0));
}

void LoadedGate::setKnockBucket(const Ipv6Addr &source, uint64_t tatNs) {
    xk_knock_source key{};
    std::memcpy(key.addr, source.data(), sizeof(key.addr));
    xk_knock_bucket value{tatNs};
    check("update knock_buckets",
          bpf_map_update_elem(bpf_map__fd(skel_->maps.knock_buckets), &key, &value, 0));
}

void LoadedGate::authorize(const Ipv6Addr &addr, uint8_t proto, uint16_t port, uint64_t expiresNs,
                           uint32_t rangeId, uint32_t secretId) {
    xk_auth_key key{};
    std::memcpy(key.addr, addr.data(), sizeof(key.addr));
    key.port = port;
    key.proto = proto;
    xk_auth_value value{};
    value.expires_ns = expiresNs;
    value.range_id = rangeId;
    value.secret_id = secretId;
    check("update authorized",
          bpf_map_update_elem(bpf_map__fd(skel_->maps.authorized), &key, &value, 0));
}

void LoadedGate::installCatalogWorld() {
    auto knockPort = [](uint16_t shapes, uint32_t intervalNs, uint64_t burstNs) {
        xk_port p{};
        p.flags = XK_PORT_KNOCK_UDP;
        p.knock_shapes = shapes;
        p.rate_interval_ns = intervalNs;
        p.rate_burst_ns = burstNs;
        return p;
    };
    setPort(kKnockPort, knockPort(XK_KNOCK_FKO, kOpenRateIntervalNs, kOpenRateBurstNs));
    xk_port plain = knockPort(XK_KNOCK_PLAIN, kOpenRateIntervalNs, kOpenRateBurstNs);
    plain.plain_min_len = kPlainLengths[0];
    plain.plain_max_len = kPlainLengths[std::size(kPlainLengths) - 1];
    for (uint16_t len : kPlainLengths)
        plain.plain_lens |= uint64_t{1} << (len - plain.plain_min_len);
    setPort(kPlainPort, plain);
    xk_port shared =
        knockPort(XK_KNOCK_FKO | XK_KNOCK_PLAIN, kOpenRateIntervalNs, kOpenRateBurstNs);
    shared.plain_min_len = shared.plain_max_len = kSharedPlainLength;
    shared.plain_lens = 1;
    setPort(kSharedPort, shared);
    setPort(kRatePort,
            knockPort(XK_KNOCK_FKO, kRateIntervalNs, uint64_t(kRateBurst - 1) * kRateIntervalNs));
    setPort(kSshPort, XK_PORT_PROTECT_TCP);
    setPort(kHttpsPort, XK_PORT_PROTECT_TCP);
    const uint64_t now = monotonicNowNs();
    const uint64_t hour = 3600ull * 1'000'000'000u;
    for (const AuthGrant &g : authGrants())
        authorize(gateAddr(g.addr), g.proto, g.port, g.expired ? now - 1'000'000'000u : now + hour);
}

void LoadedGate::setWakePort(uint16_t port, uint16_t host, uint16_t extraFlags) {
    xk_port value{};
    value.flags = XK_PORT_PROTECT_TCP | extraFlags;
    value.wake_host = host;
    setPort(port, value);
}

void LoadedGate::setWakeTarget(const Ipv6Addr &daddr, uint16_t port, uint32_t host) {
    xk_wake_target key{};
    std::memcpy(key.addr, daddr.data(), sizeof(key.addr));
    key.port = port;
    check("update wake_targets",
          bpf_map_update_elem(bpf_map__fd(skel_->maps.wake_targets), &key, &host, 0));
}

void LoadedGate::resetWakeDebounce(uint32_t host) {
    const uint64_t never = 0;
    check("update wake_last",
          bpf_map_update_elem(bpf_map__fd(skel_->maps.wake_last), &host, &never, 0));
}

std::vector<xk_wake_event> LoadedGate::drainWakeEvents() {
    std::vector<xk_wake_event> out;
    auto collect = [](void *ctx, void *data, size_t size) {
        if (size == sizeof(xk_wake_event)) {
            auto *events = static_cast<std::vector<xk_wake_event> *>(ctx);
            events->push_back(*static_cast<const xk_wake_event *>(data));
        }
        return 0;
    };
    ring_buffer *rb =
        ring_buffer__new(bpf_map__fd(skel_->maps.wake_events), collect, &out, nullptr);
    if (!rb) fail("ring_buffer__new", errno);
    int n = ring_buffer__consume(rb);
    ring_buffer__free(rb);
    if (n < 0) fail("ring_buffer__consume", n);
    return out;
}

void LoadedGate::setFlow(const xk_flow_key &key, uint64_t expiresNs, bool closing) {
    xk_flow value{};
    value.expires_ns = expiresNs;
    value.closing = closing;
    check("update flows", bpf_map_update_elem(bpf_map__fd(skel_->maps.flows), &key, &value, 0));
}

std::optional<xk_flow> LoadedGate::flow(const xk_flow_key &key) const {
    xk_flow value{};
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.flows), &key, &value) != 0) return std::nullopt;
    return value;
}

void LoadedGate::clearFlows() {
    int fd = bpf_map__fd(skel_->maps.flows);
    xk_flow_key key{};
    while (bpf_map_get_next_key(fd, nullptr, &key) == 0) bpf_map_delete_elem(fd, &key);
}

void LoadedGate::setXsk(uint32_t queue, int fd) {
    check("update xsks", bpf_map_update_elem(bpf_map__fd(skel_->maps.xsks), &queue, &fd, 0));
}

void LoadedGate::clearXsk(uint32_t queue) {
    bpf_map_delete_elem(bpf_map__fd(skel_->maps.xsks), &queue);  // absent is fine
}

LoadedGate::Run LoadedGate::run(std::span<const uint8_t> frame, uint32_t repeat) const {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = uint32_t(frame.size()), .repeat = int(repeat));
    int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.xdpknock), &opts);
    return {err < 0 ? -errno : 0, opts.retval, opts.duration};
}

Counters LoadedGate::counters() const {
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) fail("libbpf_num_possible_cpus", cpus);
    std::vector<uint64_t> perCpu(static_cast<size_t>(cpus));
    Counters total{};
    for (uint32_t i = 0; i < XK_CNT__MAX; i++) {
        check("lookup counters",
              bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &i, perCpu.data()));
        for (uint64_t v : perCpu) total[i] += v;
    }
    return total;
}

}  // namespace xk::test
