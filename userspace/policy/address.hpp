#pragma once
// Addresses as the gate keys them: 16 bytes, IPv4 mapped into ::ffff:0:0/96, so one
// code path and one BPF map serve both families.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xk::policy {

struct Address {
    std::array<uint8_t, 16> bytes{};

    bool is_v4() const;
    bool operator==(const Address &) const = default;
    static Address from_v4(uint32_t network_order);
    static Address from_bytes(const uint8_t *b16);
};

std::optional<Address> parse_address(std::string_view text);
std::string format_address(const Address &a);

// A source network; IPv4 prefixes are stored as mapped prefixes (+96).
struct Cidr {
    Address base;
    uint8_t prefix = 0;  // 0..128 over the 16-byte form

    bool contains(const Address &a) const;
};

std::optional<Cidr> parse_cidr(std::string_view text);

// An IP literal and a port: "192.0.2.1:22" or "[2001:db8::1]:22" (an IPv6 address only in
// brackets, so the port is never ambiguous).
struct Endpoint {
    Address addr;
    uint16_t port = 0;
    bool operator==(const Endpoint &) const = default;
};

// Why text is no endpoint: nullopt with problem set ("write an IPv6 address in brackets",
// "the host must be an IP address", "the port must be 1..65535").
std::optional<Endpoint> parse_endpoint(std::string_view text, std::string *problem = nullptr);
std::string format_endpoint(const Endpoint &e);  // brackets around IPv6

}  // namespace xk::policy
