// SPDX-License-Identifier: GPL-2.0
/* The client agent (xdpknock agent): on egress, a SYN to a configured remote service that
 * was not knocked recently is copied to userspace and dropped; the agent knocks, marks the
 * service fresh and sends the SYN again, which now passes. Everything else passes: the
 * client side fails open (without the agent a client just connects as before). */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "xdpknock/agent.h"
#include "xdpknock/parse.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, XK_AGENT_SERVICES_MAX);
    __type(key, struct xk_agent_key);
    __type(value, struct xk_agent_service);
} services SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} held SEC(".maps");

SEC("tc")
int xk_agent_egress(struct __sk_buff *skb) {
    __u32 len = skb->len;
    if (len > XK_AGENT_FRAME_MAX) return TC_ACT_OK; /* not a bare SYN: never held */
    if (bpf_skb_pull_data(skb, len)) return TC_ACT_OK;
    struct xk_pkt p = {};
    if (xk_parse_frame((void *)(long)skb->data, (void *)(long)skb->data_end, &p, 0) !=
            XK_PARSE_OK ||
        p.l4proto != IPPROTO_TCP || (p.tcp_flags & (XK_TCP_SYN | XK_TCP_ACK)) != XK_TCP_SYN)
        return TC_ACT_OK;
    struct xk_agent_key key = {.dport = p.dport};
    xk_copy16(key.daddr, p.daddr);
    struct xk_agent_service *s = bpf_map_lookup_elem(&services, &key);
    if (!s || bpf_ktime_get_ns() < s->fresh_until_ns) return TC_ACT_OK;

    struct xk_agent_held *h = bpf_ringbuf_reserve(&held, sizeof(*h), 0);
    if (!h) return TC_ACT_OK; /* the agent is behind: let TCP try without a knock */
    h->ifindex = skb->ifindex;
    h->len = len;
    h->remote = s->remote;
    h->dport = p.dport;
    h->pad = 0;
    if (len < 1 || bpf_skb_load_bytes(skb, 0, h->frame, len)) {
        bpf_ringbuf_discard(h, 0);
        return TC_ACT_OK;
    }
    bpf_ringbuf_submit(h, 0);
    return TC_ACT_SHOT;
}
