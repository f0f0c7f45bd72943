/* Frame parser shared by the XDP program and userspace (AF_XDP frames, pcap replay):
 * Ethernet with up to two VLAN tags, or raw IP (tun, ppp, WireGuard, ipip/gre: the frame
 * starts at the IP header, v4/v6 from the version nibble), then IPv4 with options or IPv6
 * with a bounded extension chain, then UDP, TCP or an ICMP/ICMPv6 echo (request or reply:
 * fwknop's -P icmp carries a knock in one). Every read is checked against data_end, which
 * the verifier demands and which keeps userspace safe on hostile frames. */
#ifndef XDPKNOCK_PARSE_H
#define XDPKNOCK_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* clang (BPF) unrolls the bounded header loops; GCC builds of userspace do not know
 * "#pragma unroll" and -Wall -Werror rejects it. */
#ifdef __clang__
#define XK_UNROLL _Pragma("unroll")
#else
#define XK_UNROLL
#endif

/* IP sits at frame offset 14, so its header is not 4-byte aligned. BPF reads it through
 * the natural types (the verifier allows it and the loads stay word-sized); C and C++
 * userspace must read through 1-aligned types, or the access is undefined behaviour
 * (UBSan flags every frame). */
#ifdef __bpf__
typedef struct iphdr xk_iphdr;
typedef struct ipv6hdr xk_ipv6hdr;
typedef struct udphdr xk_udphdr;
typedef struct tcphdr xk_tcphdr;
typedef __u16 xk_u16;
#else
typedef struct iphdr xk_iphdr __attribute__((aligned(1)));
typedef struct ipv6hdr xk_ipv6hdr __attribute__((aligned(1)));
typedef struct udphdr xk_udphdr __attribute__((aligned(1)));
typedef struct tcphdr xk_tcphdr __attribute__((aligned(1)));
typedef __u16 xk_u16 __attribute__((aligned(1))); /* a VLAN tag's EtherType: any offset */
#endif

#define XK_MAX_VLAN 2
#define XK_MAX_IPV6_EXT 4

enum xk_parse_result {
    XK_PARSE_OK,         /* family, addresses, l4proto, payload set; ports/flags for TCP/UDP */
    XK_PARSE_NOT_IP,     /* ARP or another EtherType */
    XK_PARSE_NOT_L4,     /* IP but neither TCP, UDP nor an ICMP echo */
    XK_PARSE_TRUNCATED,  /* a header runs past the end of the frame */
    XK_PARSE_FRAGMENT,   /* non-first fragment: no transport header */
    XK_PARSE_FRAG_SHORT, /* first fragment that does not hold the whole L4 header */
    XK_PARSE_EXT_DEEP,   /* IPv6 extension chain longer than XK_MAX_IPV6_EXT */
    XK_PARSE_VLAN_DEEP,  /* more VLAN tags than XK_MAX_VLAN: the stack may still unwrap them */
    XK_PARSE_MAPPED,     /* IPv6 from an IPv4-mapped source: would share an IPv4 source's key */
};

struct xk_pkt {
    __u8 family;        /* 4 or 6 */
    __u8 l4proto;       /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_ICMP(V6) (echo only) */
    __u8 tcp_flags;     /* byte 13 of the TCP header */
    __u8 partial;       /* the L4 payload is longer than this packet (a first fragment) */
    __u16 sport, dport; /* host byte order; 0 for ICMP */
    __u8 saddr[16];     /* IPv6 or IPv4-mapped */
    __u8 daddr[16];
    __u32 payload_off; /* L4 payload offset from the frame start */
    __u32 payload_len; /* bytes of L4 payload present, inside the IP packet (UDP: and its length) */
};

#define XK_TCP_FIN 0x01
#define XK_TCP_SYN 0x02
#define XK_TCP_RST 0x04
#define XK_TCP_ACK 0x10

static __always_inline __u16 xk_ntohs(__u16 v) {
    return __builtin_bswap16(v);
}

static __always_inline void xk_map_v4(__u8 *dst, const void *v4) {
    const __u8 *s = (const __u8 *)v4;
    for (int i = 0; i < 10; i++) dst[i] = 0;
    dst[10] = 0xff;
    dst[11] = 0xff;
    dst[12] = s[0];
    dst[13] = s[1];
    dst[14] = s[2];
    dst[15] = s[3];
}

static __always_inline void xk_copy16(__u8 *dst, const void *src) {
    const __u8 *s = (const __u8 *)src;
    for (int i = 0; i < 16; i++) dst[i] = s[i];
}

static __always_inline int xk_is_ipv6_ext(__u8 nh) {
    return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
           nh == IPPROTO_DSTOPTS;
}

static __always_inline int xk_is_v4_mapped(const __u8 *a) {
    for (int i = 0; i < 10; i++)
        if (a[i]) return 0;
    return a[10] == 0xff && a[11] == 0xff;
}

/* The EtherType of a raw-IP frame, from its version nibble; 0 when it is neither. */
static __always_inline __u16 xk_raw_ip_proto(const __u8 *pos, const __u8 *end) {
    if (pos + 1 > end) return 0;
    if ((pos[0] >> 4) == 4) return __builtin_bswap16(ETH_P_IP);
    if ((pos[0] >> 4) == 6) return __builtin_bswap16(ETH_P_IPV6);
    return 0;
}

/* Ethernet and its VLAN tags: moves *posp to the L3 header, sets *protop. */
static __always_inline int xk_parse_l2(const __u8 **posp, const __u8 *end, __u16 *protop) {
    const __u8 *pos = *posp;
    const struct ethhdr *eth = (const struct ethhdr *)pos;
    if ((const __u8 *)(eth + 1) > end) return XK_PARSE_TRUNCATED;
    __u16 proto = eth->h_proto;
    pos += sizeof(*eth);

    XK_UNROLL
    for (int i = 0; i < XK_MAX_VLAN; i++) {
        if (proto != __builtin_bswap16(ETH_P_8021Q) && proto != __builtin_bswap16(ETH_P_8021AD))
            break;
        if (pos + 4 > end) return XK_PARSE_TRUNCATED;
        proto = *(const xk_u16 *)(pos + 2); /* TCI, then the inner EtherType */
        pos += 4;
    }
    if (proto == __builtin_bswap16(ETH_P_8021Q) || proto == __builtin_bswap16(ETH_P_8021AD))
        return XK_PARSE_VLAN_DEEP;
    *posp = pos;
    *protop = proto;
    return XK_PARSE_OK;
}

/* Where the IP header left the L4 one, for the L4 parsers. */
struct xk_l3 {
    const __u8 *pos;    /* the L4 header */
    __u32 l3_end;       /* offset from data where the IP packet ends: bytes past it are Ethernet
                         * trailer (padding, FCS), not ours to read. An offset: the verifier
                         * bounds scalars, not pointer sums. */
    int fragment_first; /* a first fragment: its L4 payload goes on in others */
};

static __always_inline int xk_parse_ipv4(const __u8 *pos, const __u8 *end, const void *data,
                                         struct xk_pkt *p, struct xk_l3 *l3) {
    const xk_iphdr *ip = (const xk_iphdr *)pos;
    if ((const __u8 *)(ip + 1) > end) return XK_PARSE_TRUNCATED;
    __u32 ihl = ip->ihl * 4u;
    if (ihl < sizeof(*ip)) return XK_PARSE_TRUNCATED;
    if (pos + ihl > end) return XK_PARSE_TRUNCATED;
    __u16 tot_len = xk_ntohs(ip->tot_len);
    if (tot_len < ihl) return XK_PARSE_TRUNCATED;
    l3->l3_end = (__u32)(pos - (const __u8 *)data) + tot_len;
    p->family = 4;
    p->l4proto = ip->protocol;
    xk_map_v4(p->saddr, &ip->saddr);
    xk_map_v4(p->daddr, &ip->daddr);
    __u16 frag = xk_ntohs(ip->frag_off);
    /* Offset 1 (8 bytes) can only overwrite a TCP header's flags (RFC 1858): refuse it. */
    if ((frag & 0x1fff) == 1 && ip->protocol == IPPROTO_TCP) return XK_PARSE_FRAG_SHORT;
    if (frag & 0x1fff) return XK_PARSE_FRAGMENT;
    l3->fragment_first = (frag & 0x2000) != 0; /* MF set, offset 0 */
    l3->pos = pos + ihl;
    return XK_PARSE_OK;
}

static __always_inline int xk_parse_ipv6(const __u8 *pos, const __u8 *end, const void *data,
                                         struct xk_pkt *p, struct xk_l3 *l3) {
    const xk_ipv6hdr *ip6 = (const xk_ipv6hdr *)pos;
    if ((const __u8 *)(ip6 + 1) > end) return XK_PARSE_TRUNCATED;
    p->family = 6;
    xk_copy16(p->saddr, &ip6->saddr);
    xk_copy16(p->daddr, &ip6->daddr);
    if (xk_is_v4_mapped(p->saddr)) return XK_PARSE_MAPPED;
    __u8 nh = ip6->nexthdr;
    pos += sizeof(*ip6);
    l3->l3_end = (__u32)(pos - (const __u8 *)data) + xk_ntohs(ip6->payload_len);
    XK_UNROLL
    for (int i = 0; i < XK_MAX_IPV6_EXT; i++) {
        if (!xk_is_ipv6_ext(nh)) break;
        /* Cut inside the chain of a first fragment: the rest, L4 included, comes later. */
        if (pos + 8 > end) return l3->fragment_first ? XK_PARSE_FRAG_SHORT : XK_PARSE_TRUNCATED;
        __u8 next = pos[0];
        __u32 len = nh == IPPROTO_FRAGMENT ? 8u : (pos[1] + 1u) * 8u;
        if (nh == IPPROTO_FRAGMENT) {
            __u16 off = (__u16)((pos[2] << 8) | pos[3]);
            /* Offset 8 can only overwrite a TCP header's flags (RFC 1858, RFC 8200 4.5). */
            if ((off & 0xfff8) == 8 && next == IPPROTO_TCP) return XK_PARSE_FRAG_SHORT;
            if (off & 0xfff8) return XK_PARSE_FRAGMENT;
            l3->fragment_first = (off & 1) != 0;
        }
        nh = next;
        pos += len;
    }
    if (xk_is_ipv6_ext(nh)) return XK_PARSE_EXT_DEEP;
    p->l4proto = nh;
    l3->pos = pos;
    return XK_PARSE_OK;
}

/* UDP: the payload its length claims, as far as the packet holds it. */
static __always_inline int xk_parse_udp(const struct xk_l3 *l3, const __u8 *end, const void *data,
                                        struct xk_pkt *p) {
    const __u8 *pos = l3->pos;
    int short_result = l3->fragment_first ? XK_PARSE_FRAG_SHORT : XK_PARSE_TRUNCATED;
    const xk_udphdr *udp = (const xk_udphdr *)pos;
    if ((const __u8 *)(udp + 1) > end) return short_result;
    __u32 l4_off = (__u32)(pos - (const __u8 *)data);
    if (l4_off + sizeof(*udp) > l3->l3_end) return short_result;
    p->sport = xk_ntohs(udp->source);
    p->dport = xk_ntohs(udp->dest);
    p->tcp_flags = 0;
    pos += sizeof(*udp);
    __u32 avail = (__u32)(end - pos);
    __u32 in_l3 = l3->l3_end - l4_off - (__u32)sizeof(*udp);
    if (in_l3 < avail) avail = in_l3;
    __u32 ulen = xk_ntohs(udp->len);
    __u32 claimed = ulen >= sizeof(*udp) ? ulen - (__u32)sizeof(*udp) : 0;
    p->payload_off = (__u32)(pos - (const __u8 *)data);
    p->payload_len = claimed < avail ? claimed : avail;
    p->partial = l3->fragment_first || claimed > avail;
    return XK_PARSE_OK;
}

/* TCP, and ICMP/ICMPv6 echoes (fwknop's -P icmp): offsets, not pointers, from here on —
 * where L4 starts, and where it must end (the IP packet's own length, or the frame's if it
 * is cut short). */
static __always_inline int xk_parse_tcp_icmp(const struct xk_l3 *l3, const __u8 *end,
                                             const void *data, struct xk_pkt *p) {
    const __u8 *pos = l3->pos;
    __u32 l4_off = (__u32)(pos - (const __u8 *)data);
    __u32 l4_end = (__u32)(end - (const __u8 *)data);
    if (l3->l3_end < l4_end) l4_end = l3->l3_end;
    p->partial = l3->fragment_first;
    if (p->l4proto == IPPROTO_TCP) {
        const xk_tcphdr *tcp = (const xk_tcphdr *)pos;
        if ((const __u8 *)(tcp + 1) > end || l4_off + sizeof(*tcp) > l3->l3_end)
            return l3->fragment_first ? XK_PARSE_FRAG_SHORT : XK_PARSE_TRUNCATED;
        p->sport = xk_ntohs(tcp->source);
        p->dport = xk_ntohs(tcp->dest);
        p->tcp_flags = pos[13];
        /* The payload (fwknop's -P tcpraw puts a knock in a SYN); a data offset below the
         * header's size or past the packet leaves none, and the stack drops the segment. */
        __u32 hdr = (__u32)(pos[12] >> 4) * 4u;
        p->payload_off = 0;
        p->payload_len = 0;
        if (hdr >= sizeof(*tcp) && l4_off + hdr <= l4_end) {
            p->payload_off = l4_off + hdr;
            p->payload_len = l4_end - p->payload_off;
        }
        return XK_PARSE_OK;
    }
    int icmp = p->family == 4 ? p->l4proto == IPPROTO_ICMP : p->l4proto == IPPROTO_ICMPV6;
    if (!icmp || pos + 8 > end || l4_off + 8 > l4_end) return XK_PARSE_NOT_L4;
    __u8 type = pos[0];
    int echo = p->family == 4 ? type == 0 || type == 8 : type == 128 || type == 129;
    if (!echo) return XK_PARSE_NOT_L4;
    p->sport = 0;
    p->dport = 0;
    p->tcp_flags = 0;
    p->payload_off = l4_off + 8;
    p->payload_len = l4_end - p->payload_off;
    return XK_PARSE_OK;
}

/* raw_ip: the frame starts at the IP header (the link has no L2 header). */
static __always_inline int xk_parse_frame(const void *data, const void *data_end, struct xk_pkt *p,
                                          int raw_ip) {
    const __u8 *pos = (const __u8 *)data;
    const __u8 *end = (const __u8 *)data_end;
    __u16 proto = 0;
    if (raw_ip) {
        proto = xk_raw_ip_proto(pos, end);
        if (!proto) return pos < end ? XK_PARSE_NOT_IP : XK_PARSE_TRUNCATED;
    } else {
        int l2 = xk_parse_l2(&pos, end, &proto);
        if (l2 != XK_PARSE_OK) return l2;
    }
    struct xk_l3 l3 = {pos, 0xffffffffu, 0};
    int r;
    if (proto == __builtin_bswap16(ETH_P_IP))
        r = xk_parse_ipv4(pos, end, data, p, &l3);
    else if (proto == __builtin_bswap16(ETH_P_IPV6))
        r = xk_parse_ipv6(pos, end, data, p, &l3);
    else
        return XK_PARSE_NOT_IP;
    if (r != XK_PARSE_OK) return r;
    return p->l4proto == IPPROTO_UDP ? xk_parse_udp(&l3, end, data, p)
                                     : xk_parse_tcp_icmp(&l3, end, data, p);
}

#endif
