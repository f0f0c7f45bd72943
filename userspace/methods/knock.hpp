#pragma once
// One knock as the methods judge it, and the verdict they fill in.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "policy/address.hpp"
#include "policy/config.hpp"
#include "spa/fko_types.hpp"
#include "spa/reject.hpp"

namespace xk::methods {

struct Knock {
    policy::Address source;       // the packet's source: the only address a knock can authorize
    policy::Address destination;  // the address it was sent to (a range's destinations)
    uint16_t port = 0;            // 0 for ICMP
    policy::Transport transport = policy::Transport::udp;
    std::span<const uint8_t> payload;
    int64_t now = 0;  // Unix seconds the time window is judged against
};

constexpr size_t kMaxGrantPorts = spa::kMaxAccessPorts;

struct Decision {
    spa::Reject reason = spa::Reject::no_secret_matched;
    uint32_t range_id = 0;
    uint32_t secret_id = 0;
    uint32_t timeout_s = 0;
    std::array<policy::PortRef, kMaxGrantPorts> ports{};
    size_t nports = 0;
    const spa::FkoMessage *fko = nullptr;  // the decoded message (fko), valid until the next check
    // NAT access: the grant's first port is forwarded here (the range's "nat", or a client's
    // request it allows).
    std::optional<policy::Endpoint> nat;

    bool accepted() const { return reason == spa::Reject::ok; }
    std::span<const policy::PortRef> grant() const { return {ports.data(), nports}; }
};

}  // namespace xk::methods
