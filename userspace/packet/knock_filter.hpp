#pragma once
// The classic BPF filter of an AF_PACKET knock socket: the kernel hands userspace only the
// knock candidates the XDP gate would redirect (bpf/xdpknock.bpf.c), so the socket's ring
// holds knocks, not the link's traffic. Pure: ports in, a program out.
//
// For a SOCK_DGRAM socket: offset 0 is the IP header on every link type (Ethernet, or raw IP
// on tun/ppp/wg). Accepted, whole (0xffff bytes):
// - IPv4 with no fragment offset and no more-fragments flag (any IHL), IPv6 whose next
//   header is UDP/TCP/ICMPv6 directly: no extension-header walk (cBPF has no bounded loop
//   worth the name), so a knock behind a hop-by-hop or destination header is missed;
// - UDP to one of `udp`; a TCP SYN (SYN set, ACK clear) to one of `tcp` (fwknop's tcpraw);
//   with `icmp`, an ICMP/ICMPv6 echo, request or reply, as parse.h takes for fwknop's -P icmp.
// Never a packet this host sends (PACKET_OUTGOING): the socket is bound to ETH_P_ALL.
// What XDP checks beyond that: the shape per method the handler judges anyway; the
// per-source token bucket ("knock_rate") has no AF_PACKET form (the tap copies before
// netfilter could limit): on an nftables gate a flood costs the workers its HMACs.

#include <linux/filter.h>

#include <cstdint>
#include <vector>

namespace xk::policy {
struct Config;
}

namespace xk::packet {

struct KnockPorts {
    std::vector<uint16_t> udp;  // "udp" transport: a datagram to the range's port
    std::vector<uint16_t> tcp;  // "tcpraw": a SYN to the range's port
    bool icmp = false;          // "icmp": an echo carrying the knock
    bool operator==(const KnockPorts &) const = default;
};

// The knock ports of a config's ranges, by transport; sequence ranges (judged by XDP only)
// and http (a copy of a live connection's GET, never a knock socket's) have none.
KnockPorts knock_ports(const policy::Config &config);

// Throws std::length_error past BPF_MAXINSNS (some 2,000 ports per protocol).
std::vector<sock_filter> knock_filter(const KnockPorts &ports);

}  // namespace xk::packet
