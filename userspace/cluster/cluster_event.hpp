#pragma once
// What gateways tell each other through Redis, as text (pure: no Redis, no clock). A grant
// travels with its wall-clock expiry and its own timeout, so a receiver whose clock differs
// never holds it longer than the timeout counted from its arrival; a revoke ends the grants
// made before it (at_us) everywhere. Every field from Redis is checked: a peer's bug, or a
// hostile writer with access to Redis, gets its event dropped, never a wider grant.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/address.hpp"
#include "policy/config.hpp"
#include "spa/replay_digest.hpp"

namespace xk::cluster {

inline constexpr size_t kMaxEventPorts = 128;  // a decision's ports (policy::kMaxGrantPorts)
inline constexpr uint32_t kMaxGrantSeconds = 86400;

struct Event {
    enum class Op : uint8_t { grant, revoke };
    Op op = Op::grant;
    policy::Address addr;
    std::array<policy::PortRef, kMaxEventPorts> ports{};
    uint16_t nports = 0;
    uint32_t timeout_s = 0;  // grant: its length at the origin
    int64_t expires_ms = 0;  // grant: wall clock, ms since the epoch
    int64_t at_us = 0;       // wall clock at the origin when it was granted or revoked
    std::span<const policy::PortRef> port_list() const { return {ports.data(), nports}; }
};

// A grant of ports to addr for timeout_s, or a revoke of addr, made at at_us (wall clock).
Event grant_event(const policy::Address &addr, std::span<const policy::PortRef> ports,
                  uint32_t timeout_s, int64_t at_us);
Event revoke_event(const policy::Address &addr, int64_t at_us);

// An event with the gateway that sent it.
struct RemoteEvent {
    Event event;
    std::string node;
};

// "tcp/22,udp/53"; false (nothing kept) on a bad or repeated-past-capacity list.
std::string format_ports(std::span<const policy::PortRef> ports);
bool parse_ports(std::string_view text, Event &e);

// A stream entry's fields (XADD op … node … addr … ports … expires_ms … timeout_s … at_us …).
using Fields = std::vector<std::pair<std::string, std::string>>;
Fields event_fields(const Event &e, const std::string &node);
std::optional<RemoteEvent> parse_event(const Fields &fields);

// A live grant as stored in its address's hash: field "tcp/22", value
// "<expires_ms> <timeout_s> <at_us> <node>".
std::string grant_value(const Event &e, const std::string &node);
std::optional<RemoteEvent> parse_stored_grant(const policy::Address &addr, std::string_view port,
                                              std::string_view value);

// Redis keys under the prefix: <p>:grant:<addr>, <p>:replay:<hex>, <p>:events, <p>:nodes.
std::string grant_key(const std::string &prefix, const policy::Address &addr);
std::optional<policy::Address> grant_key_address(const std::string &prefix, std::string_view key);
// Written into out (no allocation on the knock path); returns its length.
size_t replay_key(const std::string &prefix, const spa::ReplayDigest &d, std::span<char> out);

// How long a receiver holds a grant that expires at expires_ms (its clock now now_ms): the
// rest of it, never more than its own timeout, rounded down to whole seconds; 0: not at all.
uint32_t remaining_seconds(const Event &e, int64_t now_ms);

bool valid_node(std::string_view node);

}  // namespace xk::cluster
