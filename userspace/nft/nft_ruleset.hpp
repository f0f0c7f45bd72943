#pragma once
// The nftables gate's script text (pure: no I/O). One table, `inet xdpknock`, holds every
// gated interface's objects, named after the interface: a base chain `<if>_gate` on
// prerouting (priority -140: after conntrack and mangle, before DNAT and the admin's filter
// chains), the
// protected services and knock ports, four grant sets with per-element timeouts, and the
// named counters a status reads. Grants carry "r<range> s<secret>" as the element's
// comment, so a restart adopts them with the range they count to.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address.hpp"
#include "policy/config.hpp"

namespace xk::nft {

inline constexpr std::string_view kFamily = "inet";
inline constexpr std::string_view kTable = "xdpknock";

struct GateSpec {
    std::string ifname;
    std::vector<policy::PortRef> services;  // proto TCP/UDP; proto 0 entries are skipped
    std::vector<policy::PortRef> knocks;    // dropped whatever the grants (a tap saw them)
    // A range takes knocks in ICMP echoes: every echo on the link is dropped after the tap,
    // so no knock (nor a ping) is answered, as the XDP gate answers none.
    bool icmp_knocks = false;
    // The link's index at attach (0: by name only): the chain gates the link by index or by
    // name, so a renamed link stays gated (index) and so does a recreated one (name).
    uint32_t ifindex = 0;
};

// The grant sets: (source, proto, port) per family, and (source) for "every port".
enum class GrantSet { allow4, allow6, any4, any6 };
inline constexpr GrantSet kGrantSets[] = {GrantSet::allow4, GrantSet::allow6, GrantSet::any4,
                                          GrantSet::any6};

// The interface name as an nft identifier: bytes outside [A-Za-z0-9] (and a leading digit)
// become _XX (upper-case hex). Reversible, and no suffix below ("_gate"...) can be read as
// an escape, so names of two interfaces never collide.
std::string encode_ifname(std::string_view ifname);
std::optional<std::string> decode_ifname(std::string_view encoded);

std::string chain_name(std::string_view ifname);
std::string set_name(std::string_view ifname, GrantSet set);
std::string services_set(std::string_view ifname);
std::string knocks_set(std::string_view ifname);
// The named counters: packets to services dropped, passed by a grant, knocks dropped.
std::string dropped_counter(std::string_view ifname);
std::string passed_counter(std::string_view ifname);
std::string knocked_counter(std::string_view ifname);
// The interface a chain of our table gates ("eth0_gate" -> "eth0"), if it is one of ours.
std::optional<std::string> ifname_of_chain(std::string_view chain);

// Creates what is missing, keeps the grant sets' elements (a restart adopts them), and
// rewrites the ports and the chain's rules. Throws std::invalid_argument for an interface
// name nft cannot quote ('"', '\\', '*': a wildcard in iifname).
std::string attach_script(const GateSpec &spec);
// The services and knock ports only (a reload): flushed and refilled in one batch.
std::string ports_script(const GateSpec &spec);
// Removes the interface's chain, sets and counters; `last` (no other interface's chain is
// left in the table): the whole table. Declares each object first, so it runs whether or
// not they exist. Never names anything outside table inet xdpknock.
std::string detach_script(std::string_view ifname, bool last);

// Where a grant of addr for port lives.
GrantSet set_for(const policy::Address &addr, const policy::PortRef &port);
// The element's key: "10.0.0.1 . 6 . 22", "2001:db8::1" (any port).
std::string element_key(const policy::Address &addr, const policy::PortRef &port);
// "r<range_id> s<secret_id>", and back (false when absent or garbled).
std::string grant_comment(uint32_t range_id, uint32_t secret_id);
bool parse_grant_comment(std::string_view text, uint32_t &range_id, uint32_t &secret_id);
// "30s", "2500ms": an element's timeout as nft takes it.
std::string timeout_text(uint64_t timeout_ms);
// "<key> timeout <timeout_text> comment \"r1 s0\"" (timeout_ms > 0: 0 would mean "never expires").
std::string grant_element(const policy::Address &addr, const policy::PortRef &port,
                          uint64_t timeout_ms, uint32_t range_id, uint32_t secret_id);
// "add element inet xdpknock <set> { <elements> }\n" / "delete element ..."
std::string add_elements(std::string_view ifname, GrantSet set,
                         const std::vector<std::string> &elements);
std::string delete_elements(std::string_view ifname, GrantSet set,
                            const std::vector<std::string> &keys);
// "list set inet xdpknock <set>"
std::string list_set(std::string_view ifname, GrantSet set);

}  // namespace xk::nft
