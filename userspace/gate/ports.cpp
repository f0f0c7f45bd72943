#include "gate/ports.hpp"

#include <bpf/bpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gate/gate.hpp"
#include "methods/registry.hpp"

namespace xk::gate {

static_assert(sizeof(xk_port) == 32, "xk_port layout is shared with BPF");
static_assert(sizeof(xk_knock_source) == 16, "xk_knock_source layout is shared with BPF");
static_assert(sizeof(xk_knock_bucket) == 8, "xk_knock_bucket layout is shared with BPF");
static_assert(sizeof(xk_wake_target) == 20, "xk_wake_target layout is shared with BPF");
static_assert(sizeof(xk_wake_event) == 56, "xk_wake_event layout is shared with BPF");

namespace {

// Every step a sequence range may expect (its sequence, every one-time line): the gate
// sends those packets to the sequence judge and drops them.
void add_sequence_steps(const policy::PortSequence &seq, std::vector<xk_port> &table) {
    auto flag = [&](const policy::PortRef &s) {
        table[s.port].flags |= s.proto == IPPROTO_UDP ? XK_PORT_SEQ_UDP : XK_PORT_SEQ_TCP;
    };
    for (const auto &s : seq.steps) flag(s);
    for (const auto &line : seq.one_time)
        for (const auto &s : line) flag(s);
}

}  // namespace

std::vector<xk_port> port_table(const policy::Config &config) {
    std::vector<xk_port> table(XK_PORTS_MAX);
    const uint64_t interval = 1'000'000'000u / config.knock_rate.per_source_pps;
    for (const auto &r : config.ranges) {
        if (!methods::method_of(r).judged_by_workers()) {
            add_sequence_steps(r.sequence, table);  // no knock port: steps the gate judges
            continue;
        }
        // UDP, tcpraw and http knocks on the range's port; ICMP echoes have none: ports[0].
        for (auto [t, flag] : {std::pair{policy::Transport::udp, XK_PORT_KNOCK_UDP},
                               std::pair{policy::Transport::tcp, XK_PORT_KNOCK_TCP},
                               std::pair{policy::Transport::icmp, XK_PORT_KNOCK_ICMP},
                               std::pair{policy::Transport::http, XK_PORT_KNOCK_HTTP}}) {
            if (!r.takes(t)) continue;
            xk_port &e = table[t == policy::Transport::icmp ? 0 : r.port];
            e.flags |= flag;
            e.rate_interval_ns = static_cast<uint32_t>(interval);
            e.rate_burst_ns = (config.knock_rate.burst - 1) * interval;
            methods::method_of(r).add_shape(r, e);  // the pre-filter's payload shapes
        }
    }
    for (const auto &s : config.services) {
        xk_port &e = table[s.port.port];
        e.flags |= s.port.proto == IPPROTO_UDP ? XK_PORT_PROTECT_UDP : XK_PORT_PROTECT_TCP;
        if (s.host < 0) continue;
        // Host ids are config index + 1: 0 in xk_port.wake_host means none.
        if (s.address) {
            e.flags |= XK_PORT_WAKE_BY_ADDR;
        } else {
            e.wake_host = static_cast<uint16_t>(s.host + 1);
        }
    }
    return table;
}

std::vector<std::pair<xk_wake_target, uint32_t>> wake_target_table(const policy::Config &config) {
    std::vector<std::pair<xk_wake_target, uint32_t>> out;
    for (const auto &s : config.services) {
        if (s.host < 0 || !s.address) continue;
        xk_wake_target t{};
        std::memcpy(t.addr, s.address->bytes.data(), sizeof(t.addr));
        t.port = s.port.port;
        out.emplace_back(t, static_cast<uint32_t>(s.host + 1));
    }
    return out;
}

void write_wake_targets(int wake_targets_fd, const policy::Config &config) {
    // The pinned map outlives restarts: drop every entry first, so removed services go.
    xk_wake_target key{}, next{};
    while (bpf_map_get_next_key(wake_targets_fd, nullptr, &next) == 0) {
        key = next;
        if (bpf_map_delete_elem(wake_targets_fd, &key) != 0) break;
    }
    for (const auto &[target, host] : wake_target_table(config)) {
        if (bpf_map_update_elem(wake_targets_fd, &target, &host, BPF_ANY) != 0) {
            throw GateError(std::string("cannot write the wake_targets map: ") +
                            std::strerror(errno));
        }
    }
}

void write_ports(int ports_fd, const policy::Config &config) {
    std::vector<xk_port> table = port_table(config);
    std::vector<uint32_t> keys(table.size());
    for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = i;
    uint32_t count = static_cast<uint32_t>(keys.size());
    if (bpf_map_update_batch(ports_fd, keys.data(), table.data(), &count, nullptr) == 0) return;
    for (uint32_t i = 0; i < keys.size(); ++i) {  // kernels without batch ops
        if (bpf_map_update_elem(ports_fd, &i, &table[i], BPF_ANY) != 0) {
            throw GateError(std::string("cannot write the ports map: ") + std::strerror(errno));
        }
    }
}

}  // namespace xk::gate
