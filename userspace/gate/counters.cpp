#include "gate/counters.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

namespace xk::gate {

const char *counter_name(unsigned which) {
    static const char *const names[XK_CNT__MAX] = {
        "knock_redirect", "knock_no_socket", "syn_pass",       "syn_drop",        "syn_expired",
        "tcp_pass",       "udp_pass",        "other_pass",     "malformed_pass",  "fragment_pass",
        "fragment_drop",  "ipv6_ext_drop",   "knock_len_drop", "knock_byte_drop", "knock_rate_drop",
        "wake_event",     "wake_suppressed", "wake_lost",      "vlan_deep_drop",  "tcp_flow_pass",
        "tcp_grant_pass", "tcp_drop",        "mapped_drop",    "knock_frag_drop", "seq_step",
        "seq_miss",       "seq_done",        "seq_lost",       "udp_flow_pass",   "udp_grant_pass",
        "udp_drop",       "udp_expired",     "http_copy",      "http_rate_skip",  "http_lost",
    };
    static_assert(sizeof(names) / sizeof(names[0]) == XK_CNT__MAX);
    return which < XK_CNT__MAX ? names[which] : "?";
}

Counters read_counters(int counters_fd) {
    Counters out{};
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return out;
    std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
    for (uint32_t i = 0; i < XK_CNT__MAX; ++i) {
        if (bpf_map_lookup_elem(counters_fd, &i, per_cpu.data()) != 0) continue;
        for (uint64_t v : per_cpu) out[i] += v;
    }
    return out;
}

}  // namespace xk::gate
