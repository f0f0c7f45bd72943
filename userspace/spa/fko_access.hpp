// The decoded SPA message strings: "IPv4,proto/port[,...]", "IPv4,command" and "host,port".
// Shared by the decoder (to type what arrived) and the encoder (to refuse what we would refuse).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "spa/fko_types.hpp"
#include "spa/reject.hpp"

namespace xk::spa {

// Dotted quad, four decimal octets 0..255 without leading zeros (inet_aton would read
// "010" as octal; refusing it keeps one meaning). Host byte order out.
bool parse_ipv4(std::string_view s, uint32_t &ip);
// An IPv6 address in text form, at most 45 characters of hex digits, ':' and '.' (no zone,
// no brackets); IPv4-mapped ones are refused (they have the dotted-quad spelling).
bool parse_ipv6(std::string_view s, std::array<uint8_t, 16> &ip);
// 1..5 digits, value 1..65535.
bool parse_port(std::string_view s, uint16_t &port);

// Fills allow_ip, ports and port_count from out.message.
Reject parse_access_message(FkoMessage &out);
// Fills allow_ip and command_offset from out.message.
Reject parse_command_message(FkoMessage &out);
// Fills nat_host_len and nat_port from out.nat_access.
Reject parse_nat_access(FkoMessage &out);

}  // namespace xk::spa
