// SPDX-License-Identifier: GPL-2.0
/* The XDP gate: knock candidates to AF_XDP; TCP to protected ports only from authorized
 * sources (a SYN needs a live grant, later packets a flow whose SYN had one), UDP to
 * protected ports only with a grant or in a flow one opened, everything else untouched. Knocks are
 * pre-filtered on shape and a per-source rate so junk and floods never reach userspace. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdpknock/maps.h"
#include "xdpknock/parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load (the verifier prunes the other branch). */
const volatile __u8 xk_raw_ip = 0;                           /* frames start at the IP header */
const volatile __u64 xk_flow_idle_ns = 7200ull * 1000000000; /* flow_idle_timeout */
const volatile __u64 xk_udp_idle_ns = 30ull * 1000000000;    /* udp_timeout */
const volatile __u64 xk_udp_stream_idle_ns = 120ull * 1000000000; /* udp_stream_timeout */
const volatile __u8 xk_wake = 1; /* 0: no wake host configured, no wake code at all */
const volatile __u8 xk_seq = 1;  /* 0: no sequence range, no sequence code at all */

/* A closing flow lives on this long: FIN like conntrack's FIN_WAIT/TIME_WAIT, so the
 * last ACKs and a half-closed peer's data pass; RST ends it almost at once. */
#define XK_FLOW_FIN_NS (120ull * 1000000000)
#define XK_FLOW_RST_NS (10ull * 1000000000)
/* Refresh a flow's expiry at most once a second of traffic: fewer writes to a shared line. */
#define XK_FLOW_REFRESH_NS 1000000000ull
/* An authorized SYN leaves the flow to the handshake's ACK, which passes on the same grant
 * and opens it; only a grant this close to its end opens the flow on the SYN, so an ACK
 * that comes after the grant (four lost SYN-ACKs, ~15 s) still finds the flow. */
#define XK_SYN_FLOW_MARGIN_NS (16ull * 1000000000)

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

/* Bloom filter of authorized's keys (maps.h): strangers' SYNs never reach the hash map. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, XK_FILTER_LINES_DEFAULT);
    __type(key, __u32);
    __type(value, union xk_filter_line);
} auth_filter SEC(".maps");

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
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_UDP_FLOWS_MAX);
    __type(key, struct xk_flow_key);
    __type(value, struct xk_udp_flow);
} udp_flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

/* Shared sets (maps.h: xk_knock_set), so a source has one bucket whichever queue its
 * packets land on. Updates are lock-free and approximate: see knock_rate_ok. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_KNOCK_SETS);
    __type(key, __u32);
    __type(value, struct xk_knock_set);
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

/* Port-knock sequences (maps.h): which sequence ranges have a step on a (proto, port), the
 * ranges' current sequences, each source's progress (LRU: a flood of spoofed first hits
 * evicts the stalest progress, never anything else), and the completed sequences. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_SEQ_RANGES_MAX *XK_SEQ_STEPS_MAX);
    __type(key, struct xk_seq_port_key);
    __type(value, struct xk_seq_port);
} seq_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_SEQ_RANGES_MAX);
    __type(key, __u32);
    __type(value, struct xk_seq_range);
} seq_ranges SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_SEQ_STATE_MAX);
    __type(key, struct xk_seq_key);
    __type(value, struct xk_seq_state);
} seq_state SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_SEQ_RING_BYTES);
} seq_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(pinning, LIBBPF_PIN_BY_NAME); /* <pin root>/<ifname>/<name> */
    __uint(max_entries, XK_HTTP_RING_BYTES);
} http_events SEC(".maps");

/* Each CPU's view of time, refreshed once a tick. The coarse clock (CLOCK_MONOTONIC as of
 * the last tick) costs half a hash lookup here and the exact one twice that; jiffies, which
 * the verifier inlines as a load, says when the tick moved. Expiries are judged up to two
 * ticks late: a grant or flow lives a few ms longer, never shorter. Per-CPU scratch, not
 * pinned: a new program starts it afresh. */
struct xk_tick {
    __u64 jiffies;
    __u64 ns;     /* coarse CLOCK_MONOTONIC at that tick */
    __u32 stamps; /* knocks stamped with the exact clock in this tick */
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct xk_tick);
} ticks SEC(".maps");

/* Knocks a CPU stamps with the exact clock per tick (64000/s at HZ=250): every knock below a
 * flood, a steady sample of them in one, which pays the exact clock for no more. */
#define XK_STAMPS_PER_TICK 256
/* A tick is at most this long (HZ >= 100): how far the exact clock runs ahead of a tick's. */
#define XK_TICK_MAX_NS 10000000ull

static __always_inline struct xk_tick *tick(void) {
    __u32 zero = 0;
    struct xk_tick *t = bpf_map_lookup_elem(&ticks, &zero);
    if (!t) return 0;
    __u64 j = bpf_jiffies64();
    if (t->jiffies != j) {
        t->jiffies = j;
        t->ns = bpf_ktime_get_coarse_ns();
        t->stamps = 0;
    }
    return t;
}

static __always_inline __u64 coarse_now(void) {
    struct xk_tick *t = tick();
    return t ? t->ns : bpf_ktime_get_coarse_ns();
}

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
    e->time_ns = bpf_ktime_get_ns(); /* rare (debounced): the exact time, not the tick's */
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

/* The filter line of the source's keys when the filter is built, else NULL (every key must
 * be looked up). The head's `state` is read first and the rest at addresses computed from
 * it (maps.h); *src is the source's hash. */
static __always_inline const union xk_filter_line *filter_line(const struct xk_pkt *p, __u64 *src) {
    __u32 zero = 0;
    const union xk_filter_line *l = bpf_map_lookup_elem(&auth_filter, &zero);
    if (!l) return 0;
    __u32 state = *(volatile __u32 *)&l->head.state;
    if (!state) return 0;
    __u32 half = (state - 1) & 1;
    *src = xk_filter_source((const __u32 *)p->saddr, l->head.seed[half]);
    __u32 line = l->head.base[half] + ((__u32)*src & l->head.mask[half]);
    return bpf_map_lookup_elem(&auth_filter, &line); /* NULL past the array: no answer */
}

/* 0 if the key's bits are not both set in its source's line: the map lacks the key. */
static __always_inline int filter_may_hold(const union xk_filter_line *l, __u64 src, __u8 proto,
                                           __u16 port) {
    if (!l) return 1;
    __u64 h = xk_filter_hash(src, proto, port);
    __u32 b1 = XK_FILTER_BIT1(h), b2 = XK_FILTER_BIT2(h);
    return (l->w[b1 >> 6] >> (b1 & 63)) & (l->w[b2 >> 6] >> (b2 & 63)) & 1;
}

/* The source's grant for this port (of the packet's protocol), else for every port: 1 live,
 * 0 none, -1 expired. The filter goes first: a stranger costs neither a lookup nor a clock
 * read. */
static __always_inline int grant(const struct xk_pkt *p, __u64 *now,
                                 const struct xk_auth_value **live) {
    __u64 src = 0;
    const union xk_filter_line *line = filter_line(p, &src);
    struct xk_auth_key key = {};
    __builtin_memcpy(key.addr, p->saddr, sizeof(key.addr));
    int state = 0;
    if (filter_may_hold(line, src, p->l4proto, p->dport)) {
        if (!*now) *now = coarse_now();
        key.proto = p->l4proto;
        key.port = p->dport;
        state = auth_state(&key, *now, live);
        if (state > 0) return state;
    }
    if (!filter_may_hold(line, src, 0, 0)) return state;
    if (!*now) *now = coarse_now();
    key.proto = 0;
    key.port = 0;
    int any = auth_state(&key, *now, live);
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
static __always_inline int flow_continue(const struct xk_pkt *p, __u64 *nowp) {
    struct xk_flow_key k;
    flow_key_of(p, &k);
    struct xk_flow *f = bpf_map_lookup_elem(&flows, &k);
    if (!f) return 0;
    __u64 now = *nowp = coarse_now();
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
    __u64 now = 0;
    int state = grant(p, &now, &live);
    if (state <= 0 || !live)
        return count(state < 0 ? XK_CNT_SYN_EXPIRED : XK_CNT_SYN_DROP, XDP_DROP);
    /* The connection outlives the grant, like fwknop's: its ACK opens the flow. */
    if (live->expires_ns - now < XK_SYN_FLOW_MARGIN_NS) flow_open(p, now);
    if (xk_wake) {
        /* Only an authorized SYN reaches this: unauthorized traffic never wakes anything. */
        __u32 host = wake_host_of(port, p);
        if (host) wake_request(host, p, live, now);
    }
    return count(XK_CNT_SYN_PASS, XDP_PASS);
}

/* Any other TCP packet to a protected port: a FIN, NULL, Xmas or ACK scan must see the
 * same silence as a SYN scan, so only flows we let open (or grant holders) get through. */
static __always_inline int gate_tcp_other(const struct xk_pkt *p) {
    __u64 now = 0;
    if (flow_continue(p, &now)) return count(XK_CNT_TCP_FLOW_PASS, XDP_PASS);
    const struct xk_auth_value *live = 0;
    if (grant(p, &now, &live) <= 0) return count(XK_CNT_TCP_DROP, XDP_DROP);
    if (!(p->tcp_flags & (XK_TCP_FIN | XK_TCP_RST))) flow_open(p, now);
    return count(XK_CNT_TCP_GRANT_PASS, XDP_PASS);
}

/* UDP to a protected port: a live flow's packet passes and keeps it alive; else a grant
 * opens a flow (so the session outlives the grant while it stays active); else a drop. */
static __always_inline int gate_udp(const struct xk_pkt *p) {
    struct xk_flow_key k;
    flow_key_of(p, &k);
    __u64 now = 0;
    struct xk_udp_flow *f = bpf_map_lookup_elem(&udp_flows, &k);
    if (f) {
        now = coarse_now();
        __u64 expires = f->expires_ns;
        if (expires > now) {
            if (!f->stream) f->stream = 1;
            if (now + xk_udp_stream_idle_ns - expires > XK_FLOW_REFRESH_NS)
                f->expires_ns = now + xk_udp_stream_idle_ns;
            return count(XK_CNT_UDP_FLOW_PASS, XDP_PASS);
        }
    }
    const struct xk_auth_value *live = 0;
    int state = grant(p, &now, &live);
    if (state <= 0 || !live)
        return count(state < 0 ? XK_CNT_UDP_EXPIRED : XK_CNT_UDP_DROP, XDP_DROP);
    struct xk_udp_flow nf = {.expires_ns = now + xk_udp_idle_ns};
    bpf_map_update_elem(&udp_flows, &k, &nf, BPF_ANY);
    return count(XK_CNT_UDP_GRANT_PASS, XDP_PASS);
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
    int fko = (shapes & XK_KNOCK_FKO) && len >= XK_FKO_MIN_LEN && len <= XK_FKO_MAX_LEN;
    int gpg = (shapes & XK_KNOCK_GPG) && len >= XK_GPG_MIN_LEN && len <= XK_FKO_MAX_LEN;
    if (!fko && !gpg) return XK_CNT_KNOCK_LEN_DROP;

    /* The bound gives the verifier a range for the variable packet offset. */
    __u32 off = p->payload_off;
    if (off > 0x3fff) return XK_CNT_KNOCK_LEN_DROP;
    const __u8 *first = (const __u8 *)data + off;
    if (first + 1 > (const __u8 *)data_end) return XK_CNT_KNOCK_LEN_DROP;
    /* Wire = b64("Salted__" || salt...) minus its first 10 chars: char 11 holds the low 4
     * bits of '_' (1111) and 2 salt bits, so it is one of b64 indexes 60..63. Checked on
     * fwknop 2.6 packets of every mode (legacy IV too), with and without HMAC. */
    __u8 c = *first;
    if (fko && (c == '8' || c == '9' || c == '+' || c == '/')) return XK_CNT__MAX;
    /* GPG: b64 of an OpenPGP message minus its "hQ" (0x85: a public-key encrypted session
     * key packet, 2-byte length): char 3 is the length's low nibble of its high byte and 2
     * more bits, index 0..25 for any packet under 0x700 bytes (RSA keys to 14,000 bits). */
    if (gpg && c >= 'A' && c <= 'Z') return XK_CNT__MAX;
    return XK_CNT_KNOCK_BYTE_DROP;
}

/* The source's slot in its set: its own, else the one least in debt, taken over with a
 * full bucket (tat 0). NULL only if the array lookup fails, which it cannot. */
static __always_inline struct xk_knock_slot *knock_slot(const struct xk_pkt *p) {
    const __u32 *a = (const __u32 *)p->saddr;
    __u32 w[4] = {a[0], a[1], a[2], a[3]};
    if (p->family == 6) w[2] = w[3] = 0; /* a /64 is one source */
    __u32 set = xk_knock_set_of(w);
    struct xk_knock_set *s = bpf_map_lookup_elem(&knock_buckets, &set);
    if (!s) return 0;
    for (int i = 0; i < 2; i++) {
        const __u32 *o = (const __u32 *)s->slot[i].src.addr;
        if (o[0] == w[0] && o[1] == w[1] && o[2] == w[2] && o[3] == w[3]) return &s->slot[i];
    }
    struct xk_knock_slot *v =
        s->slot[0].bucket.tat_ns <= s->slot[1].bucket.tat_ns ? &s->slot[0] : &s->slot[1];
    __builtin_memcpy(v->src.addr, w, sizeof(w));
    v->bucket.tat_ns = 0;
    return v;
}

/* GCRA token bucket: tat is when the source's bucket will be full again; a knock passes
 * if tat is at most rate_burst_ns ahead of now, and moves it one interval on. `now` is the
 * tick's, behind the exact clock: a knock it passes the exact clock passes too, one it would
 * drop within a tick of its token asks the exact clock (drops stay exact), and an idle
 * source's refill counts from the tick (at most a tick's worth early). Lock-free and
 * approximate on purpose: racing CPUs may each pass a knock on the last token (at most one
 * extra per CPU), which a pre-filter can afford and a spin lock per knock not. */
static __always_inline int knock_rate_ok(const struct xk_port *port, const struct xk_pkt *p,
                                         __u64 now) {
    __u64 interval = port->rate_interval_ns;
    if (!interval) return 1;
    struct xk_knock_slot *slot = knock_slot(p);
    if (!slot) return 1;
    struct xk_knock_bucket *b = &slot->bucket;
    __u64 tat = *(volatile __u64 *)&b->tat_ns;
    if (tat <= now) {
        b->tat_ns = now + interval; /* idle source: full bucket, take one token */
        return 1;
    }
    __u64 burst = port->rate_burst_ns;
    if (tat - now > burst) {
        /* dropped knocks take no token */
        if (tat - now - burst > XK_TICK_MAX_NS) return 0;
        __u64 exact = bpf_ktime_get_ns();
        if (tat > exact && tat - exact > burst) return 0;
    }
    __sync_fetch_and_add(&b->tat_ns, interval);
    return 1;
}

/* When XDP saw the knock, for the worker's knock -> authorized timing: the exact clock, up to
 * XK_STAMPS_PER_TICK a tick. Past that, or without room for metadata, the knock goes
 * unstamped, and is only untimed. A buffer whose metadata is already one stamp of ours is
 * one run through the program again (BPF_PROG_TEST_RUN's repeat): that stamp is reused,
 * so the bench pays what a fresh packet pays instead of finding the room full. */
static __always_inline void stamp_knock(struct xdp_md *ctx, struct xk_tick *t) {
    if (!t || t->stamps >= XK_STAMPS_PER_TICK) return;
    struct xk_knock_meta *m = (void *)(long)ctx->data_meta;
    void *data = (void *)(long)ctx->data;
    if (!((void *)(m + 1) <= data && m->magic == XK_KNOCK_META_MAGIC && (void *)(m + 1) == data)) {
        if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xk_knock_meta))) return;
        m = (void *)(long)ctx->data_meta;
        if ((void *)(m + 1) > (void *)(long)ctx->data) return;
    }
    t->stamps++;
    m->rx_ns = bpf_ktime_get_ns();
    m->magic = XK_KNOCK_META_MAGIC;
    m->pad = 0;
}

/* What one sequence range made of a hit, ranked: a packet counts its best outcome. */
enum seq_outcome { SEQ_MISS, SEQ_STEP, SEQ_LOST, SEQ_DONE };

static __always_inline int seq_is(const struct xk_seq_step *s, const struct xk_pkt *p) {
    return s->proto == p->l4proto && s->port == p->dport;
}

static __always_inline int seq_has(const struct xk_seq_range *r, __u32 nsteps,
                                   const struct xk_pkt *p) {
    for (__u32 i = 0; i < XK_SEQ_STEPS_MAX; i++) {
        if (i >= nsteps) break;
        if (seq_is(&r->steps[i], p)) return 1;
    }
    return 0;
}

static __always_inline void seq_start(struct xk_seq_key *k, __u64 now, __u32 generation) {
    struct xk_seq_state s = {.first_ns = now, .next = 1, .generation = generation};
    bpf_map_update_elem(&seq_state, k, &s, BPF_ANY);
}

/* The source completed range r: one event for userspace, which grants. Lost (ring full):
 * the state stays one step short, so the last hit sent again completes it. */
static __always_inline int seq_complete(const struct xk_seq_range *r, __u32 generation,
                                        struct xk_seq_key *k, const struct xk_pkt *p,
                                        int had_state) {
    struct xk_seq_event *e = bpf_ringbuf_reserve(&seq_events, sizeof(*e), 0);
    if (!e) return SEQ_LOST;
    if (had_state) bpf_map_delete_elem(&seq_state, k);
    e->time_ns = bpf_ktime_get_ns(); /* once per sequence: the exact time, for the log */
    __builtin_memcpy(e->saddr, p->saddr, sizeof(e->saddr));
    e->range_id = r->range_id;
    e->generation = generation;
    bpf_ringbuf_submit(e, 0);
    return SEQ_DONE;
}

/* One sequence range's judgement of a hit (knockd's rules, minus its bugs): the expected
 * step advances; the step just matched again is ignored (a retransmitted SYN must not
 * reset); any other step of the sequence resets, to step one if it is the first. Progress older
 * than the range's timeout, or made on a sequence since consumed (generation), counts as none.
 * Noinline: one copy verified, not one per seq_ports slot. */
static __noinline int seq_judge(__u32 seq_index, const struct xk_pkt *p, __u64 now) {
    const struct xk_seq_range *r = bpf_map_lookup_elem(&seq_ranges, &seq_index);
    if (!r) return SEQ_MISS;
    __u32 nsteps = r->nsteps;
    if (nsteps == 0 || nsteps > XK_SEQ_STEPS_MAX) return SEQ_MISS;
    if (p->l4proto == IPPROTO_TCP && (p->tcp_flags & r->tcp_mask) != r->tcp_want) return SEQ_MISS;

    /* Read once: userspace may rewrite the entry (a one-time sequence consumed) meanwhile,
     * and the event must carry the generation the progress was judged against. */
    const __u32 gen = *(volatile const __u32 *)&r->generation;
    struct xk_seq_key k = {.seq_index = seq_index};
    __builtin_memcpy(k.addr, p->saddr, sizeof(k.addr));
    const struct xk_seq_state *s = bpf_map_lookup_elem(&seq_state, &k);
    struct xk_seq_state now_state = {};
    if (s) now_state = *s; /* a copy: an LRU element may be reused under us */
    __u32 next = 0;
    if (s && now_state.generation == gen && now <= now_state.first_ns + r->timeout_ns &&
        now_state.next < nsteps)
        next = now_state.next;
    next &= XK_SEQ_STEPS_MAX - 1; /* < nsteps <= XK_SEQ_STEPS_MAX already: for the verifier */

    if (seq_is(&r->steps[next], p)) {
        if (next + 1 >= nsteps) return seq_complete(r, gen, &k, p, s != 0);
        if (next == 0) {
            seq_start(&k, now, gen);
        } else { /* keyed, never through s: its element may hold another key by now */
            now_state.next = next + 1;
            bpf_map_update_elem(&seq_state, &k, &now_state, BPF_EXIST);
        }
        return SEQ_STEP;
    }
    if (next > 0 && seq_is(&r->steps[(next - 1) & (XK_SEQ_STEPS_MAX - 1)], p)) return SEQ_MISS;
    if (seq_is(&r->steps[0], p)) {
        seq_start(&k, now, gen);
        return SEQ_STEP;
    }
    /* seq_ports lists every one-time line's ports: only the current sequence's reset. */
    if (s && seq_has(r, nsteps, p)) bpf_map_delete_elem(&seq_state, &k);
    return SEQ_MISS;
}

/* A hit on a sequence port: judged by every sequence range with a step there, then
 * dropped whatever came of it, so a scan of the sequence ports shows them filtered. */
static __always_inline int seq_hit(const struct xk_pkt *p) {
    if (!xk_seq) return count(XK_CNT_SEQ_MISS, XDP_DROP); /* loaded without: still silent */
    struct xk_seq_port_key key = {.port = p->dport, .proto = p->l4proto};
    const struct xk_seq_port *sp = bpf_map_lookup_elem(&seq_ports, &key);
    if (!sp) return count(XK_CNT_SEQ_MISS, XDP_DROP);
    /* The tick's clock: timeouts are whole seconds, a tick (<= 10 ms) off is nothing. */
    __u64 now = coarse_now();
    int best = SEQ_MISS;
    __u32 n = sp->nranges;
    for (__u32 i = 0; i < XK_SEQ_PORT_RANGES; i++) {
        if (i >= n) break;
        int o = seq_judge(sp->seq_index[i], p, now);
        if (o > best) best = o;
    }
    return count(best == SEQ_DONE   ? XK_CNT_SEQ_DONE
                 : best == SEQ_LOST ? XK_CNT_SEQ_LOST
                 : best == SEQ_STEP ? XK_CNT_SEQ_STEP
                                    : XK_CNT_SEQ_MISS,
                 XDP_DROP);
}

/* A knock candidate (UDP, a raw TCP segment or an ICMP echo): pre-filtered on shape and
 * its source's rate, then handed to the queue's AF_XDP socket. */
static __always_inline int knock(struct xdp_md *ctx, const struct xk_port *port,
                                 const struct xk_pkt *p, const void *data, const void *data_end) {
    /* The rest of the payload is in other fragments, which AF_XDP never joins. */
    if (p->partial) return count(XK_CNT_KNOCK_FRAG_DROP, XDP_DROP);
    /* Shape first: junk must not spend a source's tokens or claim bucket slots. */
    __u32 junk = knock_shape(port, p, data, data_end);
    if (junk != XK_CNT__MAX) return count(junk, XDP_DROP);
    struct xk_tick *t = tick();
    if (!knock_rate_ok(port, p, t ? t->ns : bpf_ktime_get_coarse_ns()))
        return count(XK_CNT_KNOCK_RATE_DROP, XDP_DROP);
    stamp_knock(ctx, t); /* invalidates data/data_end: nothing reads the packet after it */
    int action = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_DROP);
    return count(action == XDP_REDIRECT ? XK_CNT_KNOCK_REDIRECT : XK_CNT_KNOCK_NO_SOCKET, action);
}

/* fwknop -P http: the knock is the path of a GET on a real TCP connection to a real web
 * server, so the segment always passes; a copy of it goes to userspace, on the source's
 * knock budget, when it starts a request whose path has an fko knock's shape ("GET /" and
 * at least XK_FKO_MIN_LEN more bytes, the first 8, 9, '-' or '_': base64's '+' and '/' go as
 * '-' and '_' in a path). A browser's requests spend no budget. */
static __always_inline int http_copy(struct xdp_md *ctx, const struct xk_port *port,
                                     const struct xk_pkt *p, const void *data,
                                     const void *data_end) {
    __u32 off = p->payload_off, len = p->payload_len;
    const __u8 *g = (const __u8 *)data + (off & 0x3fff);
    if (off > 0x3fff || len < 5 + XK_FKO_MIN_LEN || g + 6 > (const __u8 *)data_end || g[0] != 'G' ||
        g[1] != 'E' || g[2] != 'T' || g[3] != ' ' || g[4] != '/' ||
        !(g[5] == '8' || g[5] == '9' || g[5] == '-' || g[5] == '_'))
        return count(XK_CNT_TCP_PASS, XDP_PASS);
    struct xk_tick *t = tick();
    if (!knock_rate_ok(port, p, t ? t->ns : bpf_ktime_get_coarse_ns()))
        return count(XK_CNT_HTTP_RATE_SKIP, XDP_PASS);
    struct xk_http_event *e = bpf_ringbuf_reserve(&http_events, sizeof(*e), 0);
    if (!e) return count(XK_CNT_HTTP_LOST, XDP_PASS);
    if (len > XK_HTTP_COPY_MAX) len = XK_HTTP_COPY_MAX;
    if (len < 1 || bpf_xdp_load_bytes(ctx, off, e->data, len)) {
        bpf_ringbuf_discard(e, 0);
        return count(XK_CNT_TCP_PASS, XDP_PASS);
    }
    e->time_ns = bpf_ktime_get_ns();
    __builtin_memcpy(e->saddr, p->saddr, sizeof(e->saddr));
    __builtin_memcpy(e->daddr, p->daddr, sizeof(e->daddr));
    e->dport = p->dport;
    e->len = (__u16)len;
    e->pad = 0;
    bpf_ringbuf_submit(e, 0);
    return count(XK_CNT_HTTP_COPY, XDP_PASS);
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

    /* Before the knock and protect paths: a sequence port is neither (config.cpp). */
    if (flags & (p.l4proto == IPPROTO_UDP ? XK_PORT_SEQ_UDP : XK_PORT_SEQ_TCP)) return seq_hit(&p);

    if (p.l4proto == IPPROTO_UDP) {
        /* A port is a knock port or a protected UDP service, never both (config.cpp). */
        if (flags & XK_PORT_PROTECT_UDP) return gate_udp(&p);
        if (!port || !(flags & XK_PORT_KNOCK_UDP)) return count(XK_CNT_UDP_PASS, XDP_PASS);
        return knock(ctx, port, &p, data, data_end);
    }
    if (p.l4proto != IPPROTO_TCP) {
        /* An ICMP echo (parse.h): a knock only where a range takes -P icmp (ports[0]), and
         * only in a knock's shape: every other ping is not ours and passes. */
        if (!port || !(flags & XK_PORT_KNOCK_ICMP) || p.partial ||
            knock_shape(port, &p, data, data_end) != XK_CNT__MAX)
            return count(XK_CNT_OTHER_PASS, XDP_PASS);
        return knock(ctx, port, &p, data, data_end);
    }
    int syn = (p.tcp_flags & (XK_TCP_SYN | XK_TCP_ACK)) == XK_TCP_SYN;
    /* fwknop's -P tcpraw: a SYN carrying the knock; no SYN there is answered. Other segments
     * (a NATed flow that happens to use the port) are not the gate's. */
    if (syn && port && (flags & XK_PORT_KNOCK_TCP)) return knock(ctx, port, &p, data, data_end);
    /* Never a protected port too (config.cpp): the client must reach the web server. */
    if (!syn && port && p.payload_len && (flags & XK_PORT_KNOCK_HTTP) && !p.partial)
        return http_copy(ctx, port, &p, data, data_end);

    if (!port || !(flags & XK_PORT_PROTECT_TCP)) return count(XK_CNT_TCP_PASS, XDP_PASS);
    return syn ? gate_syn(port, &p) : gate_tcp_other(&p);
}
