#include "gate_frames.hpp"

#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "xdpknock/maps.h"
#include "xdpknock/parse.h"

namespace xk::test {
namespace {

constexpr uint16_t kClientPort = 40000;

PacketBuilder v4(std::string_view src, Ipv4Options opts = {}) {
    return PacketBuilder().eth().ipv4(src, kV4Gateway, std::move(opts));
}
PacketBuilder v6(std::string_view src) {
    return PacketBuilder().eth().ipv6(src, kV6Gateway);
}

Bytes knock4(PacketBuilder b) {
    return b.udp(kClientPort, kKnockPort).payload(fkoShaped()).build();
}
Bytes knockTo(uint16_t port, std::span<const uint8_t> payload) {
    return v4(kV4Stranger).udp(kClientPort, port).payload(payload).build();
}
Bytes syn4(std::string_view src, uint16_t dport) {
    return v4(src).tcp(kClientPort, dport, kTcpSyn).build();
}
Bytes tcp6(std::string_view src, uint16_t dport, uint8_t flags) {
    return v6(src).tcp(kClientPort, dport, flags).build();
}

// First 8 bytes of a SYN's TCP header: ports and sequence number, no flags byte.
Bytes tinyTcpHead() {
    Bytes syn = syn4(kV4Stranger, kSshPort);
    return Bytes(syn.begin() + 34, syn.begin() + 42);
}

std::vector<GateCase> buildCases() {
    const Bytes fragBody(16, 0xab);
    const Bytes tinyHead = tinyTcpHead();
    std::vector<GateCase> c;
    auto add = [&](std::string name, Bytes frame, int parse, uint32_t action, uint32_t counter) {
        c.push_back({std::move(name), std::move(frame), parse, action, counter});
    };
    constexpr auto OK = XK_PARSE_OK;

    // Knock candidates; with no AF_XDP socket in xsks the redirect falls back to DROP.
    add("knock_v4", knock4(v4(kV4Stranger)), OK, XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
    add("knock_v6", v6(kV6Stranger).udp(kClientPort, kKnockPort).payload(fkoShaped()).build(), OK,
        XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
    add("knock_vlan", knock4(PacketBuilder().eth().vlan(10).ipv4(kV4Stranger, kV4Gateway)), OK,
        XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
    add("knock_qinq",
        knock4(PacketBuilder().eth().vlan(100).vlan(10).ipv4(kV4Stranger, kV4Gateway)), OK,
        XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
    add("knock_v4_options",
        knock4(v4(kV4Stranger, {.options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01}})), OK,
        XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);
    add("knock_v4_max_options", knock4(v4(kV4Stranger, {.options = Bytes(40, 0x01)})), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    // The Ethernet trailer is not payload: a 5-byte plain knock padded to 60 still fits.
    add("knock_v4_padded",
        v4(kV4Stranger).udp(kClientPort, kPlainPort).payload("knock").padTo(60).build(), OK,
        XDP_DROP, XK_CNT_KNOCK_NO_SOCKET);

    // Pre-filter: fko shape (length bounds, first byte) on an fko port.
    add("knock_fko_min_len", knockTo(kKnockPort, fkoShaped(XK_FKO_MIN_LEN, '8')), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    add("knock_fko_max_len", knockTo(kKnockPort, fkoShaped(XK_FKO_MAX_LEN, '/')), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    add("knock_fko_first_9", knockTo(kKnockPort, fkoShaped(225, '9')), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    add("knock_fko_too_short", knockTo(kKnockPort, fkoShaped(XK_FKO_MIN_LEN - 1)), OK, XDP_DROP,
        XK_CNT_KNOCK_LEN_DROP);
    add("knock_fko_too_long", knockTo(kKnockPort, fkoShaped(XK_FKO_MAX_LEN + 1)), OK, XDP_DROP,
        XK_CNT_KNOCK_LEN_DROP);
    add("knock_fko_empty", knockTo(kKnockPort, Bytes{}), OK, XDP_DROP, XK_CNT_KNOCK_LEN_DROP);
    // fwknopd refuses a replayed "U2FsdGVkX1" prefix; 'w' is b64 index 48, which the
    // "Salted__" header rules out.
    add("knock_fko_prefix_replay", knockTo(kKnockPort, fkoShaped(192, 'U')), OK, XDP_DROP,
        XK_CNT_KNOCK_BYTE_DROP);
    add("knock_fko_first_w", knockTo(kKnockPort, fkoShaped(182, 'w')), OK, XDP_DROP,
        XK_CNT_KNOCK_BYTE_DROP);
    add("knock_fko_v6_bad_byte",
        v6(kV6Stranger).udp(kClientPort, kKnockPort).payload(fkoShaped(182, 'A')).build(), OK,
        XDP_DROP, XK_CNT_KNOCK_BYTE_DROP);
    add("knock_fko_plain_sized", knockTo(kKnockPort, Bytes(12, 'x')), OK, XDP_DROP,
        XK_CNT_KNOCK_LEN_DROP);

    // Pre-filter: exact plain lengths on a plain port.
    add("knock_plain_len_5", knockTo(kPlainPort, Bytes(5, 'p')), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    add("knock_plain_len_20", knockTo(kPlainPort, Bytes(20, 'p')), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    add("knock_plain_len_13", knockTo(kPlainPort, Bytes(13, 'p')), OK, XDP_DROP,
        XK_CNT_KNOCK_LEN_DROP);
    add("knock_plain_len_21", knockTo(kPlainPort, Bytes(21, 'p')), OK, XDP_DROP,
        XK_CNT_KNOCK_LEN_DROP);
    add("knock_plain_len_4", knockTo(kPlainPort, Bytes(4, 'p')), OK, XDP_DROP,
        XK_CNT_KNOCK_LEN_DROP);
    add("knock_plain_fko_sized", knockTo(kPlainPort, fkoShaped()), OK, XDP_DROP,
        XK_CNT_KNOCK_LEN_DROP);
    add("knock_plain_v6",
        v6(kV6Stranger).udp(kClientPort, kPlainPort).payload(Bytes(12, 'p')).build(), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);

    // Pre-filter: a port shared by an fko and a plain range takes either shape.
    add("knock_shared_plain", knockTo(kSharedPort, Bytes(kSharedPlainLength, 'p')), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    add("knock_shared_fko", knockTo(kSharedPort, fkoShaped()), OK, XDP_DROP,
        XK_CNT_KNOCK_NO_SOCKET);
    add("knock_shared_len_mismatch", knockTo(kSharedPort, Bytes(kSharedPlainLength + 1, 'p')), OK,
        XDP_DROP, XK_CNT_KNOCK_LEN_DROP);
    add("knock_shared_bad_byte", knockTo(kSharedPort, fkoShaped(182, 'U')), OK, XDP_DROP,
        XK_CNT_KNOCK_BYTE_DROP);

    // SYNs to protected ports.
    add("syn_auth_port", syn4(kV4AuthSsh, kSshPort), OK, XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_auth_port_other_port", syn4(kV4AuthSsh, kHttpsPort), OK, XDP_DROP, XK_CNT_SYN_DROP);
    add("syn_auth_all_ssh", syn4(kV4AuthAll, kSshPort), OK, XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_auth_all_https", syn4(kV4AuthAll, kHttpsPort), OK, XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_unauth", syn4(kV4Stranger, kSshPort), OK, XDP_DROP, XK_CNT_SYN_DROP);
    add("syn_expired", syn4(kV4Expired, kSshPort), OK, XDP_DROP, XK_CNT_SYN_EXPIRED);
    add("syn_expired_port_live_all", syn4(kV4ExpiredPort, kSshPort), OK, XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_v6_auth", tcp6(kV6AuthSsh, kSshPort, kTcpSyn), OK, XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_v6_unauth", tcp6(kV6Stranger, kSshPort, kTcpSyn), OK, XDP_DROP, XK_CNT_SYN_DROP);
    add("syn_vlan_unauth",
        PacketBuilder()
            .eth()
            .vlan(10)
            .ipv4(kV4Stranger, kV4Gateway)
            .tcp(1, kSshPort, kTcpSyn)
            .build(),
        OK, XDP_DROP, XK_CNT_SYN_DROP);
    add("syn_v4_options_auth",
        v4(kV4AuthSsh, {.options = Bytes(12, 0x01)}).tcp(kClientPort, kSshPort, kTcpSyn).build(),
        OK, XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_v4_options_unauth",
        v4(kV4Stranger, {.options = Bytes(12, 0x01)}).tcp(kClientPort, kSshPort, kTcpSyn).build(),
        OK, XDP_DROP, XK_CNT_SYN_DROP);
    add("syn_v6_hbh_dstopts_auth",
        v6(kV6AuthSsh).hopByHop(16).destOpts().tcp(kClientPort, kSshPort, kTcpSyn).build(), OK,
        XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_v6_hbh_dstopts_unauth",
        v6(kV6Stranger).hopByHop(16).destOpts().tcp(kClientPort, kSshPort, kTcpSyn).build(), OK,
        XDP_DROP, XK_CNT_SYN_DROP);
    // XK_MAX_IPV6_EXT headers are still parsed; one more is refused.
    add("syn_v6_four_ext_auth",
        v6(kV6AuthSsh)
            .hopByHop()
            .destOpts()
            .fragment6(0, false)
            .destOpts(24)
            .tcp(kClientPort, kSshPort, kTcpSyn)
            .build(),
        OK, XDP_PASS, XK_CNT_SYN_PASS);
    add("syn_v6_five_ext",
        v6(kV6AuthSsh)
            .hopByHop()
            .destOpts()
            .destOpts()
            .destOpts()
            .destOpts()
            .tcp(kClientPort, kSshPort, kTcpSyn)
            .build(),
        XK_PARSE_EXT_DEEP, XDP_DROP, XK_CNT_IPV6_EXT_DROP);

    add("syn_three_vlan_tags",
        PacketBuilder()
            .eth()
            .vlan(300)
            .vlan(100)
            .vlan(10)
            .ipv4(kV4Stranger, kV4Gateway)
            .tcp(kClientPort, kSshPort, kTcpSyn)
            .build(),
        XK_PARSE_VLAN_DEEP, XDP_DROP, XK_CNT_VLAN_DEEP_DROP);

    // Authorized behind a VLAN tag: the tag changes nothing.
    add("syn_vlan_auth",
        PacketBuilder()
            .eth()
            .vlan(10)
            .ipv4(kV4AuthSsh, kV4Gateway)
            .tcp(kClientPort, kSshPort, kTcpSyn)
            .build(),
        OK, XDP_PASS, XK_CNT_SYN_PASS);
    // An IPv4-mapped IPv6 source would share the IPv4 grant's key: never valid on a wire.
    add("syn_v6_mapped_source", tcp6("::ffff:192.0.2.10", kSshPort, kTcpSyn), XK_PARSE_MAPPED,
        XDP_DROP, XK_CNT_MAPPED_DROP);
    add("knock_v6_mapped_source",
        v6("::ffff:192.0.2.13").udp(kClientPort, kKnockPort).payload(fkoShaped()).build(),
        XK_PARSE_MAPPED, XDP_DROP, XK_CNT_MAPPED_DROP);

    // Every other TCP packet to a protected port from outside a flow: FIN, NULL, Xmas and
    // ACK scans get the same silence as a SYN scan.
    add("synack_protected", v4(kV4Stranger).tcp(kClientPort, kSshPort, kTcpSyn | kTcpAck).build(),
        OK, XDP_DROP, XK_CNT_TCP_DROP);
    add("rst_protected", v4(kV4Stranger).tcp(kClientPort, kSshPort, kTcpRst).build(), OK, XDP_DROP,
        XK_CNT_TCP_DROP);
    add("ack_protected", v4(kV4Stranger).tcp(kClientPort, kSshPort, kTcpAck).build(), OK, XDP_DROP,
        XK_CNT_TCP_DROP);
    add("ack_v6_protected", tcp6(kV6Stranger, kHttpsPort, kTcpAck | kTcpPsh), OK, XDP_DROP,
        XK_CNT_TCP_DROP);
    add("fin_scan", v4(kV4Stranger).tcp(kClientPort, kSshPort, kTcpFin).build(), OK, XDP_DROP,
        XK_CNT_TCP_DROP);
    add("null_scan", v4(kV4Stranger).tcp(kClientPort, kSshPort, 0).build(), OK, XDP_DROP,
        XK_CNT_TCP_DROP);
    add("xmas_scan",
        v4(kV4Stranger).tcp(kClientPort, kSshPort, kTcpFin | kTcpPsh | kTcpUrg).build(), OK,
        XDP_DROP, XK_CNT_TCP_DROP);
    add("fin_scan_v6", tcp6(kV6Stranger, kSshPort, kTcpFin), OK, XDP_DROP, XK_CNT_TCP_DROP);
    add("ack_expired", v4(kV4Expired).tcp(kClientPort, kSshPort, kTcpAck).build(), OK, XDP_DROP,
        XK_CNT_TCP_DROP);
    // No flow, but the source holds a live grant for the port (e.g. a flow that idled out).
    add("ack_auth_no_flow", v4(kV4AuthSsh).tcp(kClientPort, kSshPort, kTcpAck).build(), OK,
        XDP_PASS, XK_CNT_TCP_GRANT_PASS);
    add("ack_auth_all_no_flow", tcp6(kV6AuthSsh, kSshPort, kTcpAck), OK, XDP_PASS,
        XK_CNT_TCP_GRANT_PASS);
    add("ack_unprotected", v4(kV4Stranger).tcp(kClientPort, kWebPort, kTcpAck).build(), OK,
        XDP_PASS, XK_CNT_TCP_PASS);
    add("syn_unprotected", syn4(kV4Stranger, kWebPort), OK, XDP_PASS, XK_CNT_TCP_PASS);
    add("udp_other_port", v4(kV4Stranger).udp(kClientPort, kDnsPort).payload("q").build(), OK,
        XDP_PASS, XK_CNT_UDP_PASS);

    // Not ours to judge.
    add("arp", PacketBuilder().eth().arp().build(), XK_PARSE_NOT_IP, XDP_PASS, XK_CNT_OTHER_PASS);
    add("icmp_v4", v4(kV4Stranger).icmp(8).payload("ping").build(), XK_PARSE_NOT_L4, XDP_PASS,
        XK_CNT_OTHER_PASS);
    add("icmp_v6", v6(kV6Stranger).icmp(128).payload("ping").build(), XK_PARSE_NOT_L4, XDP_PASS,
        XK_CNT_OTHER_PASS);

    // Truncated headers pass; the stack drops them. (Frames under 14 bytes never reach XDP.)
    add("truncated_eth", PacketBuilder().eth().truncate(13).build(), XK_PARSE_TRUNCATED, XDP_PASS,
        XK_CNT_MALFORMED_PASS);
    add("truncated_vlan",
        PacketBuilder().eth().vlan(10).ipv4(kV4Stranger, kV4Gateway).truncate(16).build(),
        XK_PARSE_TRUNCATED, XDP_PASS, XK_CNT_MALFORMED_PASS);
    add("truncated_ipv4", v4(kV4Stranger).truncate(14 + 19).build(), XK_PARSE_TRUNCATED, XDP_PASS,
        XK_CNT_MALFORMED_PASS);
    Bytes shortIhl = syn4(kV4Stranger, kSshPort);
    shortIhl[14] = 0x44;  // IHL 4: below the 20-byte minimum
    add("ipv4_ihl_below_min", shortIhl, XK_PARSE_TRUNCATED, XDP_PASS, XK_CNT_MALFORMED_PASS);
    add("truncated_ipv4_options",
        v4(kV4Stranger, {.options = Bytes(8, 0x01)})
            .tcp(1, kSshPort, kTcpSyn)
            .truncate(14 + 24)
            .build(),
        XK_PARSE_TRUNCATED, XDP_PASS, XK_CNT_MALFORMED_PASS);
    add("truncated_ipv6", v6(kV6Stranger).truncate(14 + 39).build(), XK_PARSE_TRUNCATED, XDP_PASS,
        XK_CNT_MALFORMED_PASS);
    add("truncated_ipv6_ext",
        v6(kV6Stranger).hopByHop(16).tcp(1, kSshPort, kTcpSyn).truncate(14 + 40 + 7).build(),
        XK_PARSE_TRUNCATED, XDP_PASS, XK_CNT_MALFORMED_PASS);
    add("truncated_tcp", v4(kV4Stranger).tcp(1, kSshPort, kTcpSyn).truncate(14 + 20 + 19).build(),
        XK_PARSE_TRUNCATED, XDP_PASS, XK_CNT_MALFORMED_PASS);
    add("truncated_udp", v4(kV4Stranger).udp(1, kKnockPort).truncate(14 + 20 + 7).build(),
        XK_PARSE_TRUNCATED, XDP_PASS, XK_CNT_MALFORMED_PASS);
    // A knock cut by fragmentation (or a short frame) can never validate: dropped in XDP.
    add("knock_v4_first_fragment", knock4(v4(kV4Stranger, {.moreFragments = true})), OK, XDP_DROP,
        XK_CNT_KNOCK_FRAG_DROP);
    add("knock_v6_first_fragment",
        v6(kV6Stranger)
            .fragment6(0, true)
            .udp(kClientPort, kKnockPort)
            .payload(fkoShaped())
            .build(),
        OK, XDP_DROP, XK_CNT_KNOCK_FRAG_DROP);
    add("knock_v4_cut_short",
        v4(kV4Stranger)
            .udp(kClientPort, kKnockPort)
            .payload(fkoShaped())
            .truncate(14 + 28 + 100)
            .build(),
        OK, XDP_DROP, XK_CNT_KNOCK_FRAG_DROP);

    // Fragments: later ones carry no ports; a first one must hold the whole L4 header.
    add("fragment_v4_non_first",
        v4(kV4Stranger, {.fragOffset = 24, .moreFragments = true})
            .l4Raw(IPPROTO_TCP, fragBody)
            .build(),
        XK_PARSE_FRAGMENT, XDP_PASS, XK_CNT_FRAGMENT_PASS);
    add("fragment_v4_last", v4(kV4Stranger, {.fragOffset = 8}).l4Raw(IPPROTO_UDP, fragBody).build(),
        XK_PARSE_FRAGMENT, XDP_PASS, XK_CNT_FRAGMENT_PASS);
    add("fragment_v6_non_first",
        v6(kV6Stranger).fragment6(16, false).l4Raw(IPPROTO_TCP, fragBody).build(),
        XK_PARSE_FRAGMENT, XDP_PASS, XK_CNT_FRAGMENT_PASS);
    add("fragment_v6_tcp_offset_8",  // RFC 8200 4.5: as for IPv4, it can only rewrite flags
        v6(kV6Stranger).fragment6(8, true).l4Raw(IPPROTO_TCP, fragBody).build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    // The first 8 TCP bytes inside the packet, the rest of a header's worth in the Ethernet
    // trailer: the L4 header must fit inside the IP payload length, not the frame.
    add("fragment_v6_first_tcp_in_trailer",
        v6(kV6Stranger)
            .fragment6(0, true)
            .l4Raw(IPPROTO_TCP, tinyHead)
            .padTo(14 + 40 + 8 + 8 + 24)
            .build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    add("fragment_v4_first_tcp_in_trailer",
        v4(kV4Stranger, {.moreFragments = true})
            .l4Raw(IPPROTO_TCP, tinyHead)
            .padTo(14 + 20 + 8 + 24)
            .build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    add("fragment_v4_first_tiny_tcp",
        v4(kV4Stranger, {.moreFragments = true}).l4Raw(IPPROTO_TCP, tinyHead).build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    add("fragment_v6_first_tiny_tcp",
        v6(kV6Stranger).fragment6(0, true).l4Raw(IPPROTO_TCP, tinyHead).build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    add("fragment_v4_first_tiny_udp",
        v4(kV4Stranger, {.moreFragments = true}).l4Raw(IPPROTO_UDP, Bytes(4, 0)).build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    add("fragment_v4_tcp_offset_8",  // can only rewrite the first fragment's TCP flags
        v4(kV4Stranger, {.fragOffset = 8, .moreFragments = true})
            .l4Raw(IPPROTO_TCP, fragBody)
            .build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    add("fragment_v6_first_cut_in_chain",  // the L4 header would come in a later fragment
        v6(kV6Stranger)
            .fragment6(0, true)
            .destOpts()
            .tcp(kClientPort, kSshPort, kTcpSyn)
            .truncate(14 + 40 + 8 + 4)
            .build(),
        XK_PARSE_FRAG_SHORT, XDP_DROP, XK_CNT_FRAGMENT_DROP);
    add("fragment_v4_first_syn_unauth",
        v4(kV4Stranger, {.moreFragments = true}).tcp(kClientPort, kSshPort, kTcpSyn).build(), OK,
        XDP_DROP, XK_CNT_SYN_DROP);
    add("fragment_v6_atomic_syn_auth",
        v6(kV6AuthSsh).fragment6(0, false).tcp(kClientPort, kSshPort, kTcpSyn).build(), OK,
        XDP_PASS, XK_CNT_SYN_PASS);
    add("v4_dont_fragment_syn_unauth",
        v4(kV4Stranger, {.dontFragment = true}).tcp(kClientPort, kSshPort, kTcpSyn).build(), OK,
        XDP_DROP, XK_CNT_SYN_DROP);
    return c;
}

constexpr const char *kCounterNames[] = {
    "KNOCK_REDIRECT", "KNOCK_NO_SOCKET", "SYN_PASS",       "SYN_DROP",        "SYN_EXPIRED",
    "TCP_PASS",       "UDP_PASS",        "OTHER_PASS",     "MALFORMED_PASS",  "FRAGMENT_PASS",
    "FRAGMENT_DROP",  "IPV6_EXT_DROP",   "KNOCK_LEN_DROP", "KNOCK_BYTE_DROP", "KNOCK_RATE_DROP",
    "WAKE_EVENT",     "WAKE_SUPPRESSED", "WAKE_LOST",      "VLAN_DEEP_DROP",  "TCP_FLOW_PASS",
    "TCP_GRANT_PASS", "TCP_DROP",        "MAPPED_DROP",    "KNOCK_FRAG_DROP",
};
static_assert(std::size(kCounterNames) == XK_CNT__MAX, "a counter was added to maps.h");

constexpr AuthGrant kGrants[] = {
    {kV4AuthSsh, IPPROTO_TCP, kSshPort, false},
    {kV4AuthAll, 0, 0, false},
    {kV4Expired, IPPROTO_TCP, kSshPort, true},
    {kV4ExpiredPort, IPPROTO_TCP, kSshPort, true},
    {kV4ExpiredPort, 0, 0, false},
    {kV6AuthSsh, IPPROTO_TCP, kSshPort, false},
};

}  // namespace

std::span<const AuthGrant> authGrants() {
    return kGrants;
}

const std::vector<GateCase> &gateCases() {
    static const std::vector<GateCase> cases = buildCases();
    return cases;
}

// Strips the Ethernet header of every untagged IP frame: what a tun, ppp or WireGuard
// link hands XDP. Same world, same verdicts; plus what only a raw link can carry.
std::vector<GateCase> buildRawIpCases() {
    std::vector<GateCase> out;
    for (const GateCase &c : gateCases()) {
        if (c.frame.size() <= ETH_HLEN) continue;
        uint16_t type = uint16_t(c.frame[12] << 8 | c.frame[13]);
        if (type != ETH_P_IP && type != ETH_P_IPV6) continue;
        out.push_back({"raw_" + c.name, Bytes(c.frame.begin() + ETH_HLEN, c.frame.end()), c.parse,
                       c.action, c.counter});
    }
    Bytes notIp = syn4(kV4Stranger, kSshPort);
    notIp.erase(notIp.begin(), notIp.begin() + ETH_HLEN);
    notIp[0] = 0x55;  // version 5: neither IPv4 nor IPv6
    out.push_back({"raw_version_5", notIp, XK_PARSE_NOT_IP, XDP_PASS, XK_CNT_OTHER_PASS});
    return out;
}

const std::vector<GateCase> &rawIpCases() {
    static const std::vector<GateCase> cases = buildRawIpCases();
    return cases;
}

const GateCase &gateCase(std::string_view name) {
    for (const GateCase &c : gateCases())
        if (c.name == name) return c;
    throw std::out_of_range("no gate case " + std::string(name));
}

Ipv6Addr gateAddr(std::string_view text) {
    if (text.find(':') != std::string_view::npos) return parseIpv6(text);
    Ipv4Addr v4 = parseIpv4(text);
    Ipv6Addr mapped{};
    mapped[10] = mapped[11] = 0xff;
    std::copy(v4.begin(), v4.end(), mapped.begin() + 12);
    return mapped;
}

Bytes fkoShaped(size_t length, char first) {
    static constexpr std::string_view kB64 =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    Bytes out(length);
    for (size_t i = 0; i < length; i++) out[i] = uint8_t(kB64[(i * 7 + 3) % kB64.size()]);
    if (length) out[0] = uint8_t(first);
    return out;
}

const char *counterName(uint32_t counter) {
    return counter < XK_CNT__MAX ? kCounterNames[counter] : "?";
}

const char *actionName(uint32_t action) {
    switch (action) {
        case XDP_ABORTED:
            return "ABORTED";
        case XDP_DROP:
            return "DROP";
        case XDP_PASS:
            return "PASS";
        case XDP_TX:
            return "TX";
        case XDP_REDIRECT:
            return "REDIRECT";
        default:
            return "?";
    }
}

}  // namespace xk::test
