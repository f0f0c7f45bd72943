#include "gate/ports.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gate/gate.hpp"

namespace xk::gate {

static_assert(sizeof(xk_port) == 32, "xk_port layout is shared with BPF");
static_assert(sizeof(xk_knock_source) == 16, "xk_knock_source layout is shared with BPF");
static_assert(sizeof(xk_knock_bucket) == 8, "xk_knock_bucket layout is shared with BPF");

namespace {

// A port's plain lengths as min..max plus a 64-bit bitmap from min: O(1) in BPF for any
// number of secrets, exact while they span under 64 bytes (a few rotated secrets of one
// style do); lengths past the window pass on bounds alone, never a false drop.
void add_plain_length(xk_port &e, size_t length) {
    const auto len = static_cast<uint16_t>(std::min<size_t>(length, UINT16_MAX));
    if (!(e.knock_shapes & XK_KNOCK_PLAIN)) {
        e.knock_shapes |= XK_KNOCK_PLAIN;
        e.plain_min_len = e.plain_max_len = len;
        e.plain_lens = 1;
        return;
    }
    if (len < e.plain_min_len) {
        const unsigned shift = e.plain_min_len - len;
        e.plain_lens = shift >= XK_PLAIN_LEN_BITS ? 0 : e.plain_lens << shift;
        e.plain_min_len = len;
    }
    e.plain_max_len = std::max(e.plain_max_len, len);
    const unsigned bit = len - e.plain_min_len;
    if (bit < XK_PLAIN_LEN_BITS) e.plain_lens |= uint64_t{1} << bit;
}

}  // namespace

std::vector<xk_port> port_table(const policy::Config &config) {
    std::vector<xk_port> table(65536);
    const uint64_t interval = 1'000'000'000u / config.knock_rate.per_source_pps;
    for (const auto &r : config.ranges) {
        xk_port &e = table[r.port];
        e.flags |= XK_PORT_KNOCK_UDP;
        e.rate_interval_ns = static_cast<uint32_t>(interval);
        e.rate_burst_ns = (config.knock_rate.burst - 1) * interval;
        if (r.method == policy::Method::fko) {
            e.knock_shapes |= XK_KNOCK_FKO;
        } else {
            for (const auto &s : r.secrets) add_plain_length(e, s.plain.size());
        }
    }
    for (const auto &s : config.services) table[s.port.port].flags |= XK_PORT_PROTECT_TCP;
    return table;
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
