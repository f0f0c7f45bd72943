/* The one definition of everything that crosses the kernel/user boundary.
 * Included by bpf/xdpknock.bpf.c and by userspace (which adds static_asserts). */
#ifndef XDPKNOCK_MAPS_H
#define XDPKNOCK_MAPS_H

#include <linux/types.h>

#define XK_PIN_ROOT "/sys/fs/bpf/xdpknock"
#define XK_MAX_QUEUES 64
#define XK_AUTH_MAX_ENTRIES 65536
#define XK_KNOCK_BUCKETS_MAX 65536 /* sources tracked by the knock token bucket (LRU) */

/* fko payload bounds: fwknopd's (FKO-WIRE.md), which userspace enforces again. */
#define XK_FKO_MIN_LEN 140
#define XK_FKO_MAX_LEN 1500
/* Bits in xk_port.plain_lens: lengths plain_min_len .. plain_min_len + 63. */
#define XK_PLAIN_LEN_BITS 64

/* ports[dport]: what the gate does with traffic to a port. */
enum xk_port_flags {
    XK_PORT_KNOCK_UDP = 1 << 0,   /* UDP to it is a knock candidate for AF_XDP */
    XK_PORT_PROTECT_TCP = 1 << 1, /* TCP SYNs to it need an authorization */
};

/* xk_port.knock_shapes: the payload shapes a knock port's ranges accept. */
enum xk_knock_shape {
    XK_KNOCK_FKO = 1 << 0,   /* XK_FKO_MIN_LEN..XK_FKO_MAX_LEN, first byte [89+/] */
    XK_KNOCK_PLAIN = 1 << 1, /* exactly the length of one of the port's plain secrets */
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

/* knock_buckets[source]: a GCRA token bucket per source. IPv4-mapped addresses as in
 * authorized; IPv6 keyed by its /64, since one host there owns the whole prefix. */
struct xk_knock_source {
    __u8 addr[16];
};

struct xk_knock_bucket {
    __u64 tat_ns; /* theoretical arrival time of the next token; <= now: bucket full */
};

/* authorized[key] = value. Addresses are IPv6 or IPv4-mapped (::ffff:a.b.c.d) so one
 * map serves both families. proto = 0 and port = 0 authorizes every protected port. */
struct xk_auth_key {
    __u8 addr[16];
    __u16 port; /* host byte order */
    __u8 proto; /* IPPROTO_TCP, IPPROTO_UDP or 0 */
    __u8 pad;   /* always 0: part of the hash */
};

struct xk_auth_value {
    __u64 expires_ns; /* bpf_ktime_get_ns() == CLOCK_MONOTONIC */
    __u32 range_id;   /* index of the range in the config */
    __u32 secret_id;  /* index of the secret within the range */
};

/* Per-CPU decision counters; userspace names them in gate/counters.cpp. */
enum xk_counter {
    XK_CNT_KNOCK_REDIRECT,  /* knock candidate handed to the queue's AF_XDP socket */
    XK_CNT_KNOCK_NO_SOCKET, /* knock candidate dropped: no socket on this queue */
    XK_CNT_SYN_PASS,        /* SYN to a protected port from an authorized source */
    XK_CNT_SYN_DROP,        /* SYN to a protected port, source not authorized */
    XK_CNT_SYN_EXPIRED,     /* SYN dropped: the source's authorization had expired */
    XK_CNT_TCP_PASS,        /* other TCP: non-SYN, or unprotected port */
    XK_CNT_UDP_PASS,        /* UDP to a non-knock port */
    XK_CNT_OTHER_PASS,      /* not IP, or IP without TCP/UDP (ARP, ICMP, ...) */
    XK_CNT_MALFORMED_PASS,  /* truncated headers: passed, the stack drops them */
    XK_CNT_FRAGMENT_PASS,   /* non-first IP fragments carry no ports */
    XK_CNT_FRAGMENT_DROP,   /* first fragment too short to hold the TCP/UDP header */
    XK_CNT_IPV6_EXT_DROP,   /* IPv6 extension chain longer than we parse */
    XK_CNT_KNOCK_LEN_DROP,  /* knock length fits neither fko bounds nor a plain secret */
    XK_CNT_KNOCK_BYTE_DROP, /* fko-sized knock whose first byte cannot start fko */
    XK_CNT_KNOCK_RATE_DROP, /* knock over its source's token bucket */
    XK_CNT__MAX,
};

#endif
