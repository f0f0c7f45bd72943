// SPDX-License-Identifier: GPL-2.0
/* The XDP gate: knock candidates to AF_XDP, SYNs to protected ports only from
 * authorized sources, everything else untouched. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdpknock/maps.h"
#include "xdpknock/parse.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, struct xk_port);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, XK_AUTH_MAX_ENTRIES);
    __type(key, struct xk_auth_key);
    __type(value, struct xk_auth_value);
} authorized SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, XK_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, XK_CNT__MAX);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 which, int action) {
    __u64 *c = bpf_map_lookup_elem(&counters, &which);
    if (c) *c += 1; /* per-CPU slot: no atomic needed */
    return action;
}

/* 1 live, 0 absent, -1 present but expired. */
static __always_inline int auth_state(struct xk_auth_key *key, __u64 now) {
    struct xk_auth_value *v = bpf_map_lookup_elem(&authorized, key);
    if (!v) return 0;
    return v->expires_ns > now ? 1 : -1;
}

static __always_inline int gate_syn(const struct xk_pkt *p) {
    struct xk_auth_key key = {};
    __u64 now = bpf_ktime_get_ns();

    __builtin_memcpy(key.addr, p->saddr, sizeof(key.addr));
    key.proto = IPPROTO_TCP;
    key.port = p->dport;
    int state = auth_state(&key, now);
    if (state <= 0) {
        key.proto = 0;
        key.port = 0;
        int any = auth_state(&key, now);
        if (any != 0) state = any;
    }
    if (state > 0) return count(XK_CNT_SYN_PASS, XDP_PASS);
    return count(state < 0 ? XK_CNT_SYN_EXPIRED : XK_CNT_SYN_DROP, XDP_DROP);
}

SEC("xdp")
int xdpknock(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct xk_pkt p = {};

    switch (xk_parse_frame(data, data_end, &p)) {
        case XK_PARSE_OK:
            break;
        case XK_PARSE_NOT_IP:
        case XK_PARSE_NOT_L4:
            return count(XK_CNT_OTHER_PASS, XDP_PASS);
        case XK_PARSE_FRAGMENT:
            return count(XK_CNT_FRAGMENT_PASS, XDP_PASS);
        case XK_PARSE_FRAG_SHORT:
            /* A first fragment that splits the L4 header could smuggle a SYN past us. */
            return count(XK_CNT_FRAGMENT_DROP, XDP_DROP);
        case XK_PARSE_EXT_DEEP:
            return count(XK_CNT_IPV6_EXT_DROP, XDP_DROP);
        default:
            return count(XK_CNT_MALFORMED_PASS, XDP_PASS);
    }

    __u32 port_key = p.dport;
    struct xk_port *port = bpf_map_lookup_elem(&ports, &port_key);
    __u16 flags = port ? port->flags : 0;

    if (p.l4proto == IPPROTO_UDP) {
        if (!(flags & XK_PORT_KNOCK_UDP)) return count(XK_CNT_UDP_PASS, XDP_PASS);
        int action = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_DROP);
        return count(action == XDP_REDIRECT ? XK_CNT_KNOCK_REDIRECT : XK_CNT_KNOCK_NO_SOCKET,
                     action);
    }

    /* TCP: only a connection opener is gated, so established flows outlive an expiry. */
    int syn = (p.tcp_flags & (XK_TCP_SYN | XK_TCP_ACK)) == XK_TCP_SYN;
    if (!syn || !(flags & XK_PORT_PROTECT_TCP)) return count(XK_CNT_TCP_PASS, XDP_PASS);
    return gate_syn(&p);
}
