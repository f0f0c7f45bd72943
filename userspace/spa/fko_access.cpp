#include "spa/fko_access.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace xk::spa {

namespace {

// find(c) for the short fields of a message: an inline loop beats a call to memchr there.
size_t find_char(std::string_view s, char c) {
    for (size_t i = 0; i < s.size(); ++i)
        if (s[i] == c) return i;
    return std::string_view::npos;
}

bool all_digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return !s.empty();
}

// Splits "IP,rest" at the first comma; rest must be non-empty. IP is a dotted quad, or an
// IPv6 address in the usual text form (no brackets, no zone; an IPv4-mapped one must be
// sent as IPv4, so one address has one spelling).
Reject split_allow_ip(std::string_view msg, FkoMessage &out, std::string_view &rest,
                      Reject no_rest) {
    size_t comma = find_char(msg, ',');
    const std::string_view ip = msg.substr(0, comma);
    out.has_allow_ip6 = find_char(ip, ':') != std::string_view::npos;
    if (out.has_allow_ip6 ? !parse_ipv6(ip, out.allow_ip6) : !parse_ipv4(ip, out.allow_ip))
        return Reject::bad_allow_ip;
    if (comma == std::string_view::npos || comma + 1 >= msg.size()) return no_rest;
    rest = msg.substr(comma + 1);
    return Reject::ok;
}

}  // namespace

// Dotted quad, one pass: four octets of 1-3 digits, none above 255, no leading zero.
bool parse_ipv4(std::string_view s, uint32_t &ip) {
    uint32_t v = 0, octet = 0, digits = 0, dots = 0;
    for (char c : s) {
        if (c == '.') {
            if (digits == 0 || dots == 3) return false;
            v = (v << 8) | octet;
            ++dots;
            octet = digits = 0;
            continue;
        }
        if (c < '0' || c > '9' || digits == 3 || (digits == 1 && octet == 0)) return false;
        octet = octet * 10 + uint32_t(c - '0');
        ++digits;
        if (octet > 255) return false;
    }
    if (dots != 3 || digits == 0) return false;
    ip = (v << 8) | octet;
    return true;
}

bool parse_ipv6(std::string_view s, std::array<uint8_t, 16> &ip) {
    constexpr size_t kMaxText = 45;  // INET6_ADDRSTRLEN - 1
    if (s.size() < 2 || s.size() > kMaxText) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == ':' || c == '.'))
            return false;
    char text[kMaxText + 1] = {};
    std::memcpy(text, s.data(), s.size());
    if (inet_pton(AF_INET6, text, ip.data()) != 1) return false;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(ip.data(), kMapped, sizeof(kMapped)) != 0;
}

bool parse_port(std::string_view s, uint16_t &port) {
    if (s.size() > 5 || !all_digits(s)) return false;
    uint32_t v = 0;
    for (char c : s) v = v * 10 + uint32_t(c - '0');
    if (v < 1 || v > 65535) return false;
    port = static_cast<uint16_t>(v);
    return true;
}

Reject parse_access_message(FkoMessage &out) {
    std::string_view rest;
    if (Reject r = split_allow_ip(out.message.view(), out, rest, Reject::bad_access);
        r != Reject::ok)
        return r;
    out.port_count = 0;
    while (true) {
        size_t comma = find_char(rest, ',');
        std::string_view spec = rest.substr(0, comma);
        size_t slash = find_char(spec, '/');
        if (slash == std::string_view::npos) return Reject::bad_access;
        std::string_view proto = spec.substr(0, slash);
        PortSpec ps{};
        // fwknopd's port lists know tcp and udp only; libfko's "icmp"/"none" never open anything.
        if (proto == "tcp")
            ps.proto = Proto::tcp;
        else if (proto == "udp")
            ps.proto = Proto::udp;
        else
            return Reject::bad_access;
        if (!parse_port(spec.substr(slash + 1), ps.port)) return Reject::bad_access;
        if (out.port_count >= kMaxAccessPorts) return Reject::too_many_ports;
        out.ports[out.port_count++] = ps;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return Reject::ok;
}

Reject parse_command_message(FkoMessage &out) {
    std::string_view rest;
    if (Reject r = split_allow_ip(out.message.view(), out, rest, Reject::bad_command);
        r != Reject::ok)
        return r;
    out.command_offset = static_cast<uint16_t>(out.message.len - rest.size());
    return Reject::ok;
}

Reject parse_nat_access(FkoMessage &out) {
    std::string_view s = out.nat_access.view();
    size_t comma = s.find(',');
    if (comma == std::string_view::npos || s.find(',', comma + 1) != std::string_view::npos)
        return Reject::bad_nat_access;
    std::string_view host = s.substr(0, comma);
    if (host.empty() || host.size() > kMaxNatHost ||
        host.find_first_of(" /?\"'\\") != std::string_view::npos)
        return Reject::bad_nat_access;
    if (!parse_port(s.substr(comma + 1), out.nat_port)) return Reject::bad_nat_access;
    out.nat_host_len = static_cast<uint16_t>(host.size());
    return Reject::ok;
}

}  // namespace xk::spa
