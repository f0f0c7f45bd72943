#include "policy/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace xk::policy {
namespace {
constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

bool Address::is_v4() const {
    return std::memcmp(bytes.data(), kMappedPrefix, 12) == 0;
}

Address Address::from_v4(uint32_t network_order) {
    Address a;
    std::memcpy(a.bytes.data(), kMappedPrefix, 12);
    std::memcpy(a.bytes.data() + 12, &network_order, 4);
    return a;
}

Address Address::from_bytes(const uint8_t *b16) {
    Address a;
    std::memcpy(a.bytes.data(), b16, 16);
    return a;
}

std::optional<Address> parse_address(std::string_view text) {
    std::string s(text);
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return Address::from_v4(v4.s_addr);
    Address a;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
    return std::nullopt;
}

std::string format_address(const Address &a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.is_v4()) {
        inet_ntop(AF_INET, a.bytes.data() + 12, buf, sizeof(buf));
    } else {
        inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof(buf));
    }
    return buf;
}

bool Cidr::contains(const Address &a) const {
    unsigned full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.bytes.data(), base.bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::optional<Cidr> parse_cidr(std::string_view text) {
    auto slash = text.find('/');
    auto addr = parse_address(text.substr(0, slash));
    if (!addr) return std::nullopt;
    unsigned max = addr->is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc() || end != digits.data() + digits.size() || prefix > max) {
            return std::nullopt;
        }
    }
    Cidr c;
    c.prefix = static_cast<uint8_t>(addr->is_v4() ? prefix + 96 : prefix);
    c.base = *addr;
    // Zero the host bits so equal networks compare equal.
    for (unsigned bit = c.prefix; bit < 128; ++bit) {
        c.base.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    }
    return c;
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string *problem) {
    auto refuse = [&](const char *why) -> std::optional<Endpoint> {
        if (problem) *problem = why;
        return std::nullopt;
    };
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return refuse("needs a port after a ':'");
    std::string_view host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return refuse("write an IPv6 address in brackets: [::1]:22");
    }
    unsigned port = 0;
    const std::string_view digits = text.substr(colon + 1);
    auto [at, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || at != digits.data() + digits.size() || port == 0 || port > 65535)
        return refuse("the port must be 1..65535");
    auto addr = parse_address(host);
    if (!addr) return refuse("the host must be an IP address");
    return Endpoint{*addr, static_cast<uint16_t>(port)};
}

std::string format_endpoint(const Endpoint &e) {
    const std::string host = format_address(e.addr);
    return (e.addr.is_v4() ? host : "[" + host + "]") + ":" + std::to_string(e.port);
}

}  // namespace xk::policy
