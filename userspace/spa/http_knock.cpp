#include "spa/http_knock.hpp"

#include "spa/fko_access.hpp"

#include <algorithm>
#include <string_view>

namespace xk::spa {
namespace {

constexpr std::string_view kGet = "GET /";
constexpr std::string_view kAgent = "\nUser-Agent: Fwknop";
constexpr std::string_view kForwarded = "\nX-Forwarded-For:";

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The header lines: up to the blank line that ends them, or the whole copy.
std::string_view header_of(std::string_view req) {
    const size_t end = req.find("\r\n\r\n");
    return end == std::string_view::npos ? req : req.substr(0, end + 2);
}

// Header names are case-insensitive (RFC 9110); the name and its colon only.
size_t find_header(std::string_view head, std::string_view name) {
    auto eq = [](char a, char b) {
        return (a >= 'A' && a <= 'Z' ? a + 32 : a) == (b >= 'A' && b <= 'Z' ? b + 32 : b);
    };
    auto it = std::search(head.begin(), head.end(), name.begin(), name.end(), eq);
    return it == head.end() ? std::string_view::npos : static_cast<size_t>(it - head.begin());
}

// One address, nothing else on the line: fwknopd ignores a list or a name, and so do we.
bool forwarded_address(std::string_view head, HttpKnock &out) {
    size_t at = find_header(head, kForwarded);
    if (at == std::string_view::npos) return false;
    std::string_view v = head.substr(at + kForwarded.size());
    v = v.substr(0, v.find('\n'));
    while (!v.empty() && is_space(v.front())) v.remove_prefix(1);
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
    // The access message's address parsers: one spelling of an address wherever it is read.
    if (uint32_t v4; parse_ipv4(v, v4)) {
        out.forwarded_for = {};
        out.forwarded_for[10] = out.forwarded_for[11] = 0xff;  // IPv4-mapped
        for (int i = 0; i < 4; ++i) out.forwarded_for[12 + i] = uint8_t(v4 >> (24 - 8 * i));
        return true;
    }
    return parse_ipv6(v, out.forwarded_for);
}

}  // namespace

bool parse_http_knock(std::span<const uint8_t> data, std::span<uint8_t> spa_out, HttpKnock &out) {
    out = HttpKnock{};
    const std::string_view req(reinterpret_cast<const char *>(data.data()), data.size());
    if (!req.starts_with(kGet) || spa_out.size() < data.size()) return false;
    const std::string_view head = header_of(req);
    // Case as fwknop sends it: fwknopd's own test is a case-sensitive strstr.
    if (head.find(kAgent) == std::string_view::npos) return false;
    size_t n = 0;
    for (size_t i = kGet.size(); i < head.size() && !is_space(head[i]); ++i) {
        const char c = head[i];
        spa_out[n++] = static_cast<uint8_t>(c == '-' ? '+' : c == '_' ? '/' : c);
    }
    // The request line must end: a path cut by the copy's end is no SPA we could check.
    if (n == 0 || kGet.size() + n >= head.size()) return false;
    out.spa_len = n;
    out.forwarded = forwarded_address(head, out);
    return true;
}

}  // namespace xk::spa
