// SPDX-License-Identifier: GPL-2.0
/* The XDP gate: knock candidates to AF_XDP; TCP to protected ports only from authorized
 * sources (a SYN needs a live grant, later packets a flow whose SYN had one), everything
 * else untouched. Knocks are pre-filtered on shape and a per-source rate so junk and
 * floods never reach userspace. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdpknock/maps.h"
#include "xdpknock/parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load (the verifier prunes the other branch). */
const volatile __u8 xk_raw_ip = 0;                           /* frames start at the IP header */
const volatile __u64 xk_flow_idle_ns = 7200ull * 1000000000; /* flow_idle_timeout */

/* A closing flow lives on this long: FIN like conntrack's FIN_WAIT/TIME_WAIT, so the
 * last ACKs and a half-closed peer's data pass; RST ends it almost at once. */
#define XK_FLOW_FIN_NS (120ull * 1000000000)
#define XK_FLOW_RST_NS (10ull * 1000000000)
/* Refresh a flow's expiry at most once a second of traffic: fewer writes to a shared line. */
#define XK_FLOW_REFRESH_NS 1000000000ull

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_PORTS_MAX);
    __type(key, __u32);
    __type(value, struct xk_port);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_AUTH_MAX_ENTRIES);
    __type(key, struct xk_auth_key);
    __type(value, struct xk_auth_value);
} authorized SEC(".maps");

/* TCP flows to protected ports that may continue (maps.h: xk_flow_key). LRU: under
 * pressure the stalest flow goes, and its next packet needs a grant again (closed). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_FLOWS_MAX);
    __type(key, struct xk_flow_key);
    __type(value, struct xk_flow);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

/* Shared entries, so a source has one bucket whichever queue its packets land on;
 * per-CPU LRU lists (NO_COMMON_LRU) so a flood of new sources never contends on one
 * LRU lock. Updates are lock-free and approximate: see knock_rate_ok. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_KNOCK_BUCKETS_MAX);
    __uint(map_flags, BPF_F_NO_COMMON_LRU);
    __type(key, struct xk_knock_source);
    __type(value, struct xk_knock_bucket);
} knock_buckets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_CNT__MAX);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

/* Wake-on-LAN (see maps.h): ring of wake requests, the last event per host (debounce),
 * and the per-address service table. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_WAKE_RING_BYTES);
} wake_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_WAKE_HOSTS_MAX);
    __type(key, __u32);
    __type(value, __u64); /* bpf_ktime_get_ns() of the host's last event */
} wake_last SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_WAKE_TARGETS_MAX);
    __type(key, struct xk_wake_target);
    __type(value, __u32);
} wake_targets SEC(".maps");

static __always_inline int count(__u32 which, int action) {
    __u64 *c = bpf_map_lookup_elem(&counters, &which);
    if (c) *c += 1; /* per-CPU slot: no atomic needed */
    return action;
}

/* 1 live (*live set), 0 absent, -1 present but expired. */
static __always_inline int auth_state(struct xk_auth_key *key, __u64 now,
                                      const struct xk_auth_value **live) {
    struct xk_auth_value *v = bpf_map_lookup_elem(&authorized, key);
    if (!v) return 0;
    if (v->expires_ns <= now) return -1;
    *live = v;
    return 1;
}

/* The wake host a SYN to this port asks for: a service bound to the SYN's destination
 * address first, else the port's own. 0: none. */
static __always_inline __u32 wake_host_of(const struct xk_port *port, const struct xk_pkt *p) {
    if (port->flags & XK_PORT_WAKE_BY_ADDR) {
        struct xk_wake_target t = {};
        __builtin_memcpy(t.addr, p->daddr, sizeof(t.addr));
        t.port = p->dport;
        __u32 *host = bpf_map_lookup_elem(&wake_targets, &t);
        if (host) return *host;
    }
    return port->wake_host;
}

/* One ring buffer event per host per XK_WAKE_DEBOUNCE_NS, whatever the SYN rate: the
 * compare-and-swap lets exactly one CPU claim an interval. */
static __always_inline void wake_request(__u32 host, const struct xk_pkt *p,
                                         const struct xk_auth_value *auth, __u64 now) {
    __u64 *last = bpf_map_lookup_elem(&wake_last, &host);
    if (!last) return;
    __u64 seen = *(volatile __u64 *)last;
    if (now - seen < XK_WAKE_DEBOUNCE_NS || __sync_val_compare_and_swap(last, seen, now) != seen) {
        count(XK_CNT_WAKE_SUPPRESSED, 0);
        return;
    }
    struct xk_wake_event *e = bpf_ringbuf_reserve(&wake_events, sizeof(*e), 0);
    if (!e) {
        *last = seen; /* the next SYN may try again: nothing was sent for this interval */
        count(XK_CNT_WAKE_LOST, 0);
        return;
    }
    e->time_ns = now;
    __builtin_memcpy(e->saddr, p->saddr, sizeof(e->saddr));
    __builtin_memcpy(e->daddr, p->daddr, sizeof(e->daddr));
    e->range_id = auth->range_id;
    e->secret_id = auth->secret_id;
    e->host = (__u16)host;
    e->dport = p->dport;
    e->pad = 0;
    bpf_ringbuf_submit(e, 0);
    count(XK_CNT_WAKE_EVENT, 0);
}

/* The source's grant for this TCP port, else for every port: 1 live, 0 none, -1 expired. */
static __always_inline int tcp_grant(const struct xk_pkt *p, __u64 now,
                                     const struct xk_auth_value **live) {
    struct xk_auth_key key = {};
    __builtin_memcpy(key.addr, p->saddr, sizeof(key.addr));
    key.proto = IPPROTO_TCP;
    key.port = p->dport;
    int state = auth_state(&key, now, live);
    if (state > 0) return state;
    key.proto = 0;
    key.port = 0;
    int any = auth_state(&key, now, live);
    return any != 0 ? any : state;
}

static __always_inline void flow_key_of(const struct xk_pkt *p, struct xk_flow_key *k) {
    __builtin_memcpy(k->saddr, p->saddr, sizeof(k->saddr));
    __builtin_memcpy(k->daddr, p->daddr, sizeof(k->daddr));
    k->sport = p->sport;
    k->dport = p->dport;
}

static __always_inline void flow_open(const struct xk_pkt *p, __u64 now) {
    struct xk_flow_key k;
    flow_key_of(p, &k);
    struct xk_flow f = {.expires_ns = now + xk_flow_idle_ns, .closing = 0};
    bpf_map_update_elem(&flows, &k, &f, BPF_ANY);
}

/* 1 if the packet continues a live flow, whose expiry it refreshes (or, for FIN/RST,
 * shortens to a grace that traffic no longer extends). */
static __always_inline int flow_continue(const struct xk_pkt *p, __u64 now) {
    struct xk_flow_key k;
    flow_key_of(p, &k);
    struct xk_flow *f = bpf_map_lookup_elem(&flows, &k);
    if (!f) return 0;
    __u64 expires = f->expires_ns;
    if (expires <= now) return 0;
    __u64 grace = (p->tcp_flags & XK_TCP_RST)   ? XK_FLOW_RST_NS
                  : (p->tcp_flags & XK_TCP_FIN) ? XK_FLOW_FIN_NS
                                                : 0;
    if (grace) {
        if (expires > now + grace) f->expires_ns = now + grace;
        f->closing = 1;
    } else if (!f->closing && now + xk_flow_idle_ns - expires > XK_FLOW_REFRESH_NS) {
        f->expires_ns = now + xk_flow_idle_ns;
    }
    return 1;
}

static __always_inline int gate_syn(const struct xk_port *port, const struct xk_pkt *p) {
    const struct xk_auth_value *live = 0;
    __u64 now = bpf_ktime_get_ns();
    int state = tcp_grant(p, now, &live);
    if (state <= 0) return count(state < 0 ? XK_CNT_SYN_EXPIRED : XK_CNT_SYN_DROP, XDP_DROP);
    flow_open(p, now); /* the connection outlives the grant, like fwknop's */
    /* Only an authorized SYN reaches this: unauthorized traffic never wakes anything. */
    __u32 host = wake_host_of(port, p);
    if (host && live) wake_request(host, p, live, now);
    return count(XK_CNT_SYN_PASS, XDP_PASS);
}

/* Any other TCP packet to a protected port: a FIN, NULL, Xmas or ACK scan must see the
 * same silence as a SYN scan, so only flows we let open (or grant holders) get through. */
static __always_inline int gate_tcp_other(const struct xk_pkt *p) {
    __u64 now = bpf_ktime_get_ns();
    if (flow_continue(p, now)) return count(XK_CNT_TCP_FLOW_PASS, XDP_PASS);
    const struct xk_auth_value *live = 0;
    if (tcp_grant(p, now, &live) <= 0) return count(XK_CNT_TCP_DROP, XDP_DROP);
    if (!(p->tcp_flags & (XK_TCP_FIN | XK_TCP_RST))) flow_open(p, now);
    return count(XK_CNT_TCP_GRANT_PASS, XDP_PASS);
}

/* The counter of the pre-filter rule a knock breaks, or XK_CNT__MAX if its shape fits one
 * the port accepts. Only the length and one byte are read: the rest is userspace's job. */
static __always_inline __u32 knock_shape(const struct xk_port *port, const struct xk_pkt *p,
                                         const void *data, const void *data_end) {
    __u32 len = p->payload_len;
    __u16 shapes = port->knock_shapes;

    if ((shapes & XK_KNOCK_PLAIN) && len >= port->plain_min_len && len <= port->plain_max_len) {
        __u32 bit = len - port->plain_min_len;
        /* Beyond the bitmap window the bounds alone decide: never a false drop. */
        if (bit >= XK_PLAIN_LEN_BITS || ((port->plain_lens >> bit) & 1)) return XK_CNT__MAX;
    }
    if (!(shapes & XK_KNOCK_FKO) || len < XK_FKO_MIN_LEN || len > XK_FKO_MAX_LEN)
        return XK_CNT_KNOCK_LEN_DROP;

    /* The bound gives the verifier a range for the variable packet offset. */
    __u32 off = p->payload_off;
    if (off > 0x3fff) return XK_CNT_KNOCK_LEN_DROP;
    const __u8 *first = (const __u8 *)data + off;
    if (first + 1 > (const __u8 *)data_end) return XK_CNT_KNOCK_LEN_DROP;
    /* Wire = b64("Salted__" || salt...) minus its first 10 chars: char 11 holds the low 4
     * bits of '_' (1111) and 2 salt bits, so it is one of b64 indexes 60..63. Checked on
     * fwknop 2.6 packets of every mode (legacy IV too), with and without HMAC. */
    __u8 c = *first;
    return (c == '8' || c == '9' || c == '+' || c == '/') ? XK_CNT__MAX : XK_CNT_KNOCK_BYTE_DROP;
}

/* GCRA token bucket: tat is when the source's bucket will be full again; a knock passes
 * if tat is at most rate_burst_ns ahead of now, and moves it one interval on. Lock-free
 * and approximate on purpose: racing CPUs may each pass a knock on the last token (at
 * most one extra per CPU), which a pre-filter can afford and a spin lock per knock not. */
static __always_inline int knock_rate_ok(const struct xk_port *port, const struct xk_pkt *p) {
    __u64 interval = port->rate_interval_ns;
    if (!interval) return 1;

    struct xk_knock_source src;
    __builtin_memcpy(src.addr, p->saddr, sizeof(src.addr));
    if (p->family == 6) __builtin_memset(src.addr + 8, 0, 8); /* a /64 is one source */

    __u64 now = bpf_ktime_get_ns();
    struct xk_knock_bucket *b = bpf_map_lookup_elem(&knock_buckets, &src);
    if (!b) {
        struct xk_knock_bucket fresh = {.tat_ns = now + interval};
        bpf_map_update_elem(&knock_buckets, &src, &fresh, BPF_NOEXIST);
        return 1;
    }
    __u64 tat = *(volatile __u64 *)&b->tat_ns;
    if (tat <= now) {
        b->tat_ns = now + interval; /* idle source: full bucket, take one token */
        return 1;
    }
    if (tat - now > port->rate_burst_ns) return 0; /* dropped knocks take no token */
    __sync_fetch_and_add(&b->tat_ns, interval);
    return 1;
}

/* Best effort: without room for metadata the knock goes unstamped, and is only untimed. */
static __always_inline void stamp_knock(struct xdp_md *ctx) {
    if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xk_knock_meta))) return;
    struct xk_knock_meta *m = (void *)(long)ctx->data_meta;
    if ((void *)(m + 1) > (void *)(long)ctx->data) return;
    m->rx_ns = bpf_ktime_get_ns();
    m->magic = XK_KNOCK_META_MAGIC;
    m->pad = 0;
}

SEC("xdp")
int xdpknock(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct xk_pkt p = {};

    switch (xk_parse_frame(data, data_end, &p, xk_raw_ip)) {
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
        case XK_PARSE_VLAN_DEEP:
            /* Fail closed: a host that unwraps a third tag would see a SYN we did not gate. */
            return count(XK_CNT_VLAN_DEEP_DROP, XDP_DROP);
        case XK_PARSE_MAPPED:
            return count(XK_CNT_MAPPED_DROP, XDP_DROP);
        default:
            return count(XK_CNT_MALFORMED_PASS, XDP_PASS);
    }

    __u32 port_key = p.dport;
    struct xk_port *port = bpf_map_lookup_elem(&ports, &port_key);
    __u16 flags = port ? port->flags : 0;

    if (p.l4proto == IPPROTO_UDP) {
        if (!(flags & XK_PORT_KNOCK_UDP)) return count(XK_CNT_UDP_PASS, XDP_PASS);
        /* The rest of the datagram is in other fragments, which AF_XDP never joins. */
        if (p.partial) return count(XK_CNT_KNOCK_FRAG_DROP, XDP_DROP);
        /* Shape first: junk must not spend a source's tokens or claim LRU slots. */
        __u32 junk = knock_shape(port, &p, data, data_end);
        if (junk != XK_CNT__MAX) return count(junk, XDP_DROP);
        if (!knock_rate_ok(port, &p)) return count(XK_CNT_KNOCK_RATE_DROP, XDP_DROP);
        stamp_knock(ctx); /* invalidates data/data_end: nothing reads the packet after it */
        int action = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_DROP);
        return count(action == XDP_REDIRECT ? XK_CNT_KNOCK_REDIRECT : XK_CNT_KNOCK_NO_SOCKET,
                     action);
    }

    if (!port || !(flags & XK_PORT_PROTECT_TCP)) return count(XK_CNT_TCP_PASS, XDP_PASS);
    int syn = (p.tcp_flags & (XK_TCP_SYN | XK_TCP_ACK)) == XK_TCP_SYN;
    return syn ? gate_syn(port, &p) : gate_tcp_other(&p);
}
