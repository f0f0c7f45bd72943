/* The client agent's TC egress program and its userspace (userspace/agent/): one
 * definition of what they share. */
#ifndef XDPKNOCK_AGENT_H
#define XDPKNOCK_AGENT_H

#include <linux/types.h>

#define XK_AGENT_SERVICES_MAX 1024
/* A held SYN is copied whole or not held: a SYN from the local stack is at most
 * 14 (Ethernet) + 60 (IPv4 with options) + 60 (TCP with options) bytes. */
#define XK_AGENT_FRAME_MAX 256

/* services[key]: a remote service whose SYNs wait for a knock. Address IPv6 or
 * IPv4-mapped (like the gate's keys), port in host order. */
struct xk_agent_key {
    __u8 daddr[16];
    __u16 dport;
    __u16 pad;
};

struct xk_agent_service {
    __u64 fresh_until_ns; /* CLOCK_MONOTONIC: until then SYNs pass untouched (knocked) */
    __u32 remote;         /* index of the remote in the agent's config */
    __u32 pad;
};

/* held: a SYN the program dropped, for the agent to send again after its knock. */
struct xk_agent_held {
    __u32 ifindex;
    __u32 len;
    __u32 remote;
    __u16 dport;
    __u16 pad;
    __u8 frame[XK_AGENT_FRAME_MAX];
};

#endif
