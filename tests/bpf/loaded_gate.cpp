#include "loaded_gate.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/in.h>
#include <time.h>

#include <cerrno>
#include <cstring>
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

LoadedGate::LoadedGate() {
    skel_ = xdpknock::open();
    if (!skel_) fail("open skeleton", errno);
    if (int rc = xdpknock::load(skel_)) {
        xdpknock::destroy(skel_);
        fail("load skeleton", rc);
    }
}

LoadedGate::~LoadedGate() {
    xdpknock::destroy(skel_);
}

void LoadedGate::setPort(uint16_t port, uint16_t flags) {
    uint32_t key = port;
    xk_port value{};
    value.flags = flags;
    check("update ports", bpf_map_update_elem(bpf_map__fd(skel_->maps.ports), &key, &value, 0));
}

void LoadedGate::authorize(const Ipv6Addr &addr, uint8_t proto, uint16_t port, uint64_t expiresNs) {
    xk_auth_key key{};
    std::memcpy(key.addr, addr.data(), sizeof(key.addr));
    key.port = port;
    key.proto = proto;
    xk_auth_value value{};
    value.expires_ns = expiresNs;
    check("update authorized",
          bpf_map_update_elem(bpf_map__fd(skel_->maps.authorized), &key, &value, 0));
}

void LoadedGate::installCatalogWorld() {
    setPort(kKnockPort, XK_PORT_KNOCK_UDP);
    setPort(kSshPort, XK_PORT_PROTECT_TCP);
    setPort(kHttpsPort, XK_PORT_PROTECT_TCP);
    const uint64_t now = monotonicNowNs();
    const uint64_t hour = 3600ull * 1'000'000'000u;
    for (const AuthGrant &g : authGrants())
        authorize(gateAddr(g.addr), g.proto, g.port, g.expired ? now - 1'000'000'000u : now + hour);
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
