/* The one definition of everything that crosses the kernel/user boundary.
 * Included by bpf/xdpknock.bpf.c and by userspace (which adds static_asserts). */
#ifndef XDPKNOCK_MAPS_H
#define XDPKNOCK_MAPS_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define XK_PIN_ROOT "/sys/fs/bpf/xdpknock"
/* Map names, as the BPF program declares them: each is pinned at <pin root>/<ifname>/<name>
 * (gate_loader_test checks every one is). */
#define XK_MAP_PORTS "ports"
#define XK_MAP_AUTHORIZED "authorized"
#define XK_MAP_FLOWS "flows"
#define XK_MAP_UDP_FLOWS "udp_flows"
#define XK_MAP_XSKS "xsks"
#define XK_MAP_KNOCK_BUCKETS "knock_buckets"
#define XK_MAP_COUNTERS "counters"
#define XK_MAP_WAKE_EVENTS "wake_events"
#define XK_MAP_WAKE_LAST "wake_last"
#define XK_MAP_WAKE_TARGETS "wake_targets"
#define XK_MAP_AUTH_FILTER "auth_filter"
#define XK_MAP_SEQ_PORTS "seq_ports"
#define XK_MAP_SEQ_RANGES "seq_ranges"
#define XK_MAP_SEQ_STATE "seq_state"
#define XK_MAP_SEQ_EVENTS "seq_events"
#define XK_MAP_HTTP_EVENTS "http_events"
#define XK_MAX_QUEUES 64
#define XK_PORTS_MAX 65536         /* the ports table: one entry per port number */
#define XK_AUTH_MAX_ENTRIES 65536  /* default; the config's authorized_max sets it at load */
#define XK_FLOWS_MAX 65536         /* TCP flows to protected ports the gate lets continue */
#define XK_UDP_FLOWS_MAX 65536     /* UDP flows likewise */
#define XK_KNOCK_BUCKETS_MAX 65536 /* sources the knock token buckets hold (2 per set) */

/* fko payload bounds: fwknopd's (FKO-WIRE.md), which userspace enforces again. */
#define XK_FKO_MIN_LEN 140
#define XK_FKO_MAX_LEN 1500
#define XK_GPG_MIN_LEN 400 /* fwknop calls a payload this long or longer GPG */
/* Bits in xk_port.plain_lens: lengths plain_min_len .. plain_min_len + 63. */
#define XK_PLAIN_LEN_BITS 64

/* ports[dport]: what the gate does with traffic to a port. */
enum xk_port_flags {
    XK_PORT_KNOCK_UDP = 1 << 0,    /* UDP to it is a knock candidate for AF_XDP */
    XK_PORT_PROTECT_TCP = 1 << 1,  /* TCP SYNs to it need an authorization */
    XK_PORT_WAKE_BY_ADDR = 1 << 2, /* wake_targets[{daddr, port}] may name the wake host */
    XK_PORT_SEQ_TCP = 1 << 3,      /* TCP to it is a sequence hit (seq_ports), then dropped */
    XK_PORT_SEQ_UDP = 1 << 4,      /* UDP to it likewise */
    XK_PORT_PROTECT_UDP = 1 << 5,  /* UDP to it needs an authorization or a live udp_flow */
    XK_PORT_KNOCK_TCP = 1 << 6,    /* a SYN to it is a knock candidate (fwknop -P tcpraw) */
    XK_PORT_KNOCK_ICMP = 1 << 7,   /* ports[0] only: ICMP echoes in a knock's shape are ones */
    XK_PORT_KNOCK_HTTP = 1 << 8,   /* a TCP segment to it starting a GET of a knock: copied */
};

/* xk_port.knock_shapes: the payload shapes a knock port's ranges accept. */
enum xk_knock_shape {
    XK_KNOCK_FKO = 1 << 0,   /* XK_FKO_MIN_LEN..XK_FKO_MAX_LEN, first byte [89+/] */
    XK_KNOCK_PLAIN = 1 << 1, /* exactly the length of one of the port's plain secrets */
    XK_KNOCK_GPG = 1 << 2,   /* XK_GPG_MIN_LEN..XK_FKO_MAX_LEN, first byte [A-Z] */
};

struct xk_port {
    __u16 flags;     /* enum xk_port_flags */
    __u16 wake_host; /* 0 = none; index into the wake host table */
    /* Knock pre-filter (XK_PORT_KNOCK_UDP only). It lives here, not in a map of its own,
     * so the lookup the gate already does yields it and one rewrite keeps it in step. */
    __u16 knock_shapes;  /* enum xk_knock_shape; 0 drops every knock */
    __u16 plain_min_len; /* shortest plain secret of the port */
    __u16 plain_max_len; /* longest; lengths beyond the bitmap window pass on bounds */
    __u16 pad;
    __u32 rate_interval_ns; /* per-source token bucket: ns per token; 0 = no limit */
    __u64 plain_lens;       /* bit i: some plain secret is plain_min_len + i bytes long */
    __u64 rate_burst_ns;    /* (burst - 1) * rate_interval_ns: how far a source may run ahead */
};

/* knock_buckets: a GCRA token bucket per source. IPv4-mapped addresses as in authorized;
 * IPv6 keyed by its /64, since one host there owns the whole prefix. */
struct xk_knock_source {
    __u8 addr[16];
};

struct xk_knock_bucket {
    __u64 tat_ns; /* theoretical arrival time of the next token; <= now: bucket full */
};

/* The buckets are an array of 2-way sets, one cache line each, indexed by a hash of the
 * source: a lookup is an index and two compares, not a hash map's walk. A third source in
 * a set takes the slot of the one least in debt, which starts over with a full bucket, as
 * an LRU's evicted entry would. */
struct xk_knock_slot {
    struct xk_knock_source src;
    struct xk_knock_bucket bucket;
    __u64 pad;
};

struct xk_knock_set {
    struct xk_knock_slot slot[2];
};
#define XK_KNOCK_SETS (XK_KNOCK_BUCKETS_MAX / 2)

/* The set of a source, given as 4 native-order words (an IPv6 /64 with the last two 0).
 * Not keyed: colliding sources only reset each other's buckets, which a spoofing flooder
 * gets for free by changing addresses. */
static __always_inline __u32 xk_knock_set_of(const __u32 *w) {
    __u64 x = ((__u64)w[0] << 32 | w[1]) * 0x9e3779b97f4a7c15ull;
    x = (x ^ ((__u64)w[2] << 32 | w[3])) * 0xbf58476d1ce4e5b9ull;
    return (__u32)(x >> 40) & (XK_KNOCK_SETS - 1);
}

/* authorized[key] = value. Addresses are IPv6 or IPv4-mapped (::ffff:a.b.c.d) so one
 * map serves both families. proto = 0 and port = 0 authorizes every protected port. */
struct xk_auth_key {
    __u8 addr[16];
    __u16 port; /* host byte order */
    __u8 proto; /* IPPROTO_TCP, IPPROTO_UDP or 0 */
    __u8 pad;   /* always 0: part of the hash */
};

struct xk_auth_value {
    __u64 expires_ns; /* CLOCK_MONOTONIC (the gate reads it coarse: a tick late at most) */
    __u32 range_id;   /* index of the range in the config */
    __u32 secret_id;  /* index of the secret within the range */
};

/* auth_filter: a Bloom filter over the keys of `authorized`, so a SYN from a stranger is
 * dropped after two array reads instead of two hash lookups. It may answer "maybe" for a
 * key the map lacks (the lookup then decides) but never "no" for one it holds: writers set
 * a key's bits before they write the key (userspace/auth/auth_filter.hpp says how a
 * rebuild keeps that true). Line 0 is the head; each half is a power of two of 512-bit
 * lines. A source's keys all live in the line its address hashes to, each as two bits,
 * so a SYN probes its two keys (this port, every port) with one line read. The array is
 * BPF_F_MMAPABLE: userspace sets bits with atomic ORs. The gate reads `state` first and takes
 * everything else at an address computed from it, so even a weakly ordered CPU sees the half it
 * names filled. */
struct xk_filter_head {
    __u64 seed[2]; /* keys the hash (the same in both), so no one can aim at granted bits */
    __u32 state;   /* 0: not built, the gate looks every key up; else 1 + the active half */
    __u32 flips;   /* rebuilds so far: a userspace reader's check that it read one half */
    __u32 base[2]; /* first line of each half */
    __u32 mask[2]; /* lines in each half - 1 */
    __u64 pad[3];
};

union xk_filter_line {
    struct xk_filter_head head;
    __u64 w[8];
};

#define XK_FILTER_BITS_PER_KEY 16 /* with 2 bits a key: ~1.5 % false "maybe" when full */
/* Lines of a filter sized for `keys` entries: the head and two halves. */
static __always_inline __u32 xk_filter_lines(__u32 keys) {
    __u32 half = 1;
    while (half < 0x800000u && half * 512ull < (__u64)keys * XK_FILTER_BITS_PER_KEY) half <<= 1;
    return 1 + 2 * half;
}
#define XK_FILTER_LINES_DEFAULT (1 + 2 * (XK_AUTH_MAX_ENTRIES * XK_FILTER_BITS_PER_KEY / 512))

/* The hash of a key in two steps: the source once per packet (its address as 4 native-order
 * words), then each (proto, port). */
static __always_inline __u64 xk_filter_source(const __u32 *w, __u64 seed) {
    __u64 x = ((__u64)w[0] << 32 | w[1]) ^ seed;
    x *= 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 32) ^ ((__u64)w[2] << 32 | w[3])) * 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 29);
}

static __always_inline __u64 xk_filter_hash(__u64 source, __u8 proto, __u16 port) {
    __u64 x = (source ^ ((__u64)proto << 16 | port)) * 0x94d049bb133111ebull;
    return x ^ (x >> 32);
}

/* Where a key's bits are: its source's line (xk_filter_source & mask), and two bit numbers
 * within the line from the key's hash. */
#define XK_FILTER_BIT1(h) ((__u32)((h) >> 40) & 511)
#define XK_FILTER_BIT2(h) ((__u32)((h) >> 49) & 511)

/* Port-knock sequences (method "sequence", knockd's), judged here with per-source state.
 * seq_ranges[i] is the i-th sequence range of the config; seq_ports[{proto, port}] lists
 * the sequence ranges with a step there; seq_state[{source, i}] is how far a source got.
 * A completed sequence is one seq_events record: userspace grants it through its store. */
#define XK_SEQ_STEPS_MAX 16  /* steps in one sequence */
#define XK_SEQ_RANGES_MAX 64 /* sequence ranges in a config */
#define XK_SEQ_PORT_RANGES 8 /* sequence ranges sharing one (proto, port) */
#define XK_SEQ_STATE_MAX 65536
#define XK_SEQ_RING_BYTES (256 * 1024)

struct xk_seq_step {
    __u16 port; /* host byte order */
    __u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
    __u8 pad;
};

struct xk_seq_range {
    __u32 range_id;   /* index of the range in the config */
    __u32 generation; /* bumped by userspace when a one-time sequence is consumed */
    __u64 timeout_ns; /* first hit to last */
    __u8 nsteps;      /* 0: the range takes no hits (every one-time sequence used) */
    __u8 tcp_mask;    /* a TCP hit counts when (flags & tcp_mask) == tcp_want */
    __u8 tcp_want;
    __u8 pad[5];
    struct xk_seq_step steps[XK_SEQ_STEPS_MAX];
};

struct xk_seq_port_key {
    __u16 port; /* host byte order */
    __u8 proto;
    __u8 pad; /* always 0: part of the hash */
};

struct xk_seq_port {
    __u32 nranges;                      /* valid entries of seq_index */
    __u8 seq_index[XK_SEQ_PORT_RANGES]; /* indexes into seq_ranges */
};

/* seq_state key: the source as in authorized (IPv6 or IPv4-mapped, whole address). */
struct xk_seq_key {
    __u8 addr[16];
    __u32 seq_index;
};

struct xk_seq_state {
    __u64 first_ns;   /* CLOCK_MONOTONIC (the tick's coarse clock) of the sequence's first hit */
    __u32 next;       /* steps matched so far: the index of the expected one */
    __u32 generation; /* of the range when the first hit came: a consumed sequence restarts */
};

/* seq_events ring buffer record: a source completed a sequence. */
struct xk_seq_event {
    __u64 time_ns;    /* bpf_ktime_get_ns() of the last hit */
    __u8 saddr[16];   /* IPv6 or IPv4-mapped */
    __u32 range_id;   /* from seq_ranges */
    __u32 generation; /* of the sequence completed: userspace grants only the current one */
};

/* http_events ring buffer record: the start of a TCP segment to an http knock port that
 * began "GET /" (fwknop -P http). The packet itself went on to the web server. */
#define XK_HTTP_COPY_MAX 1536 /* an Ethernet MTU's TCP payload and then some */
#define XK_HTTP_RING_BYTES (512 * 1024)
struct xk_http_event {
    __u64 time_ns;  /* bpf_ktime_get_ns() when XDP saw it */
    __u8 saddr[16]; /* IPv6 or IPv4-mapped */
    __u8 daddr[16]; /* likewise: the web server's address (a range's destinations) */
    __u16 dport;    /* host order */
    __u16 len;      /* bytes of data[] copied: the payload, up to XK_HTTP_COPY_MAX */
    __u32 pad;
    __u8 data[XK_HTTP_COPY_MAX];
};

/* Per-CPU decision counters; userspace names them in gate/counters.cpp. */
enum xk_counter {
    XK_CNT_KNOCK_REDIRECT,  /* knock candidate handed to the queue's AF_XDP socket */
    XK_CNT_KNOCK_NO_SOCKET, /* knock candidate dropped: no socket on this queue */
    XK_CNT_SYN_PASS,        /* SYN to a protected port from an authorized source */
    XK_CNT_SYN_DROP,        /* SYN to a protected port, source not authorized */
    XK_CNT_SYN_EXPIRED,     /* SYN dropped: the source's authorization had expired */
    XK_CNT_TCP_PASS,        /* TCP to a port the gate does not protect */
    XK_CNT_UDP_PASS,        /* UDP to a non-knock port */
    XK_CNT_OTHER_PASS,      /* not IP, or IP without TCP/UDP (ARP, ICMP, ...) */
    XK_CNT_MALFORMED_PASS,  /* truncated headers: passed, the stack drops them */
    XK_CNT_FRAGMENT_PASS,   /* non-first IP fragments carry no ports */
    XK_CNT_FRAGMENT_DROP,   /* first fragment too short to hold the TCP/UDP header */
    XK_CNT_IPV6_EXT_DROP,   /* IPv6 extension chain longer than we parse */
    XK_CNT_KNOCK_LEN_DROP,  /* knock length fits neither fko bounds nor a plain secret */
    XK_CNT_KNOCK_BYTE_DROP, /* fko-sized knock whose first byte cannot start fko */
    XK_CNT_KNOCK_RATE_DROP, /* knock over its source's token bucket */
    XK_CNT_WAKE_EVENT,      /* authorized SYN to a wake host's service: event sent */
    XK_CNT_WAKE_SUPPRESSED, /* ... within the host's debounce interval: no event */
    XK_CNT_WAKE_LOST,       /* ... but the wake ring buffer was full */
    XK_CNT_VLAN_DEEP_DROP,  /* more VLAN tags than we parse: a SYN could hide inside */
    XK_CNT_TCP_FLOW_PASS,   /* non-SYN to a protected port, part of an authorized flow */
    XK_CNT_TCP_GRANT_PASS,  /* non-SYN to a protected port, no flow, source holds a grant */
    XK_CNT_TCP_DROP,        /* non-SYN to a protected port from outside any flow (scans) */
    XK_CNT_MAPPED_DROP,     /* IPv6 packet with an IPv4-mapped source (::ffff:0:0/96) */
    XK_CNT_KNOCK_FRAG_DROP, /* knock cut by IP fragmentation: it can never validate */
    XK_CNT_SEQ_STEP,        /* sequence hit that started or advanced a source's sequence */
    XK_CNT_SEQ_MISS,        /* sequence port hit that advanced nothing (reset, repeat, flags) */
    XK_CNT_SEQ_DONE,        /* sequence completed: event sent to userspace */
    XK_CNT_SEQ_LOST,        /* ... but the sequence ring buffer was full */
    XK_CNT_UDP_FLOW_PASS,   /* UDP to a protected port, part of a flow a grant opened */
    XK_CNT_UDP_GRANT_PASS,  /* UDP to a protected port from a source with a live grant */
    XK_CNT_UDP_DROP,        /* UDP to a protected port, no flow, source not authorized */
    XK_CNT_UDP_EXPIRED,     /* ... dropped: the source's authorization had expired */
    XK_CNT_HTTP_COPY,       /* GET of a knock's shape to an http port: copied, passed */
    XK_CNT_HTTP_RATE_SKIP,  /* ... over its source's token bucket: passed, not copied */
    XK_CNT_HTTP_LOST,       /* ... but the http ring buffer was full: passed, not copied */
    XK_CNT__MAX,
};

/* flows[key]: a TCP flow to a protected port whose opening was authorized (or that was
 * established when the gate attached). Its later packets pass until it idles out or
 * closes; the expiry is refreshed by traffic. Addresses IPv6 or IPv4-mapped, ports in
 * host order, saddr = the remote peer. */
struct xk_flow_key {
    __u8 saddr[16];
    __u8 daddr[16];
    __u16 sport;
    __u16 dport;
};

struct xk_flow {
    __u64 expires_ns; /* bpf_ktime_get_ns() */
    __u32 closing;    /* FIN or RST seen: the expiry no longer moves out */
    __u32 pad;
};

/* udp_flows[key] (the key as in flows): a UDP flow to a protected port whose first packet
 * came with a live grant. Its packets pass while it stays active, after the grant too, as
 * conntrack keeps a UDP "connection": UDP has no SYN to judge, so the flow is the session.
 * The gate sees one direction only, so a flow that carried a second packet counts as a
 * stream (conntrack's ASSURED) and idles out after the longer timeout. */
struct xk_udp_flow {
    __u64 expires_ns; /* bpf_ktime_get_ns() */
    __u32 stream;     /* a packet after the first: the long idle timeout applies */
    __u32 pad;
};

/* In front of every knock the gate redirects (bpf_xdp_adjust_meta): when XDP saw it, so a
 * worker can time knock -> authorized map write. AF_XDP copies it into the UMEM frame just
 * before the packet; the magic tells a stamped frame from one without metadata. */
#define XK_KNOCK_META_MAGIC 0x786b6d31u /* "xkm1" */
struct xk_knock_meta {
    __u64 rx_ns; /* bpf_ktime_get_ns() in XDP */
    __u32 magic;
    __u32 pad;
};

/* Wake-on-LAN (KNOCK-AND-WAKE.md). Host ids are 1..XK_WAKE_HOSTS_MAX-1: config index + 1,
 * so xk_port.wake_host = 0 keeps meaning "no host". */
#define XK_WAKE_HOSTS_MAX 256
#define XK_WAKE_TARGETS_MAX 1024
#define XK_WAKE_RING_BYTES (64 * 1024) /* > 1000 events: debounced, so never near full */
/* One event per host per interval: a SYN storm (or a client's SYN retries while the host
 * boots) is one wake request, and userspace runs the burst. */
#define XK_WAKE_DEBOUNCE_NS 1000000000ull

/* wake_targets[key] = host id: services bound to one destination address, for ports whose
 * entry has XK_PORT_WAKE_BY_ADDR. Address IPv6 or IPv4-mapped, port in host order. */
struct xk_wake_target {
    __u8 addr[16];
    __u16 port;
    __u16 pad; /* always 0: part of the hash */
};

/* wake_events ring buffer record: the authorized SYN that asked for a sleeping host. */
struct xk_wake_event {
    __u64 time_ns;  /* bpf_ktime_get_ns() */
    __u8 saddr[16]; /* the authorized source */
    __u8 daddr[16]; /* where its SYN was going */
    __u32 range_id; /* from the xk_auth_value that let it pass */
    __u32 secret_id;
    __u16 host;  /* wake host id */
    __u16 dport; /* host byte order */
    __u32 pad;
};

#endif
