#include "cluster/cluster_event.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace xk::cluster {
namespace {

template <typename T>
bool parse_number(std::string_view text, T &out, T lo, T hi) {
    if (text.empty() || text.size() > 20) return false;
    T v{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

// Wall-clock bounds: 2001..2286, so no arithmetic on them overflows.
constexpr int64_t kMinMs = 1000000000000, kMaxMs = 9999999999999;

bool parse_times(std::string_view expires, std::string_view timeout, std::string_view at,
                 Event &e) {
    return parse_number<int64_t>(expires, e.expires_ms, kMinMs, kMaxMs) &&
           parse_number<uint32_t>(timeout, e.timeout_s, 1, kMaxGrantSeconds) &&
           parse_number<int64_t>(at, e.at_us, kMinMs * 1000, kMaxMs * 1000);
}

std::string_view next_word(std::string_view &rest) {
    const size_t sp = rest.find(' ');
    std::string_view w = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    return w;
}

}  // namespace

bool valid_node(std::string_view node) {
    return !node.empty() && node.size() <= 64 && std::all_of(node.begin(), node.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

Event grant_event(const policy::Address &addr, std::span<const policy::PortRef> ports,
                  uint32_t timeout_s, int64_t at_us) {
    Event e;
    e.addr = addr;
    e.nports = static_cast<uint16_t>(std::min(ports.size(), kMaxEventPorts));
    std::copy_n(ports.begin(), e.nports, e.ports.begin());
    e.timeout_s = std::min(timeout_s, kMaxGrantSeconds);
    e.at_us = at_us;
    e.expires_ms = at_us / 1000 + int64_t{e.timeout_s} * 1000;
    return e;
}

Event revoke_event(const policy::Address &addr, int64_t at_us) {
    Event e;
    e.op = Event::Op::revoke;
    e.addr = addr;
    e.at_us = at_us;
    return e;
}

std::string format_ports(std::span<const policy::PortRef> ports) {
    std::string out;
    for (const auto &p : ports) out += (out.empty() ? "" : ",") + policy::format_port(p);
    return out;
}

bool parse_ports(std::string_view text, Event &e) {
    e.nports = 0;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        std::string_view one = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (e.nports == kMaxEventPorts || one.empty()) return false;
        try {
            e.ports[e.nports++] = policy::parse_port_ref(one);
        } catch (const std::exception &) {
            return false;
        }
    }
    return e.nports > 0;
}

Fields event_fields(const Event &e, const std::string &node) {
    Fields f{{"op", e.op == Event::Op::grant ? "grant" : "revoke"},
             {"node", node},
             {"addr", policy::format_address(e.addr)}};
    if (e.op == Event::Op::grant) {
        f.emplace_back("ports", format_ports(e.port_list()));
        f.emplace_back("expires_ms", std::to_string(e.expires_ms));
        f.emplace_back("timeout_s", std::to_string(e.timeout_s));
    }
    f.emplace_back("at_us", std::to_string(e.at_us));
    return f;
}

std::optional<RemoteEvent> parse_event(const Fields &fields) {
    auto get = [&](std::string_view name) -> const std::string * {
        const std::string *found = nullptr;
        for (const auto &[k, v] : fields) {
            if (k != name) continue;
            if (found) return nullptr;  // a repeated field: which one would count?
            found = &v;
        }
        return found;
    };
    const std::string *op = get("op"), *node = get("node"), *addr = get("addr"), *at = get("at_us");
    if (!op || !node || !addr || !at || !valid_node(*node)) return std::nullopt;
    RemoteEvent r;
    r.node = *node;
    auto a = policy::parse_address(*addr);
    if (!a) return std::nullopt;
    r.event.addr = *a;
    if (*op == "revoke") {
        r.event.op = Event::Op::revoke;
        if (!parse_number<int64_t>(*at, r.event.at_us, kMinMs * 1000, kMaxMs * 1000))
            return std::nullopt;
        return r;
    }
    const std::string *ports = get("ports"), *expires = get("expires_ms"),
                      *timeout = get("timeout_s");
    if (*op != "grant" || !ports || !expires || !timeout || !parse_ports(*ports, r.event) ||
        !parse_times(*expires, *timeout, *at, r.event))
        return std::nullopt;
    return r;
}

std::string grant_value(const Event &e, const std::string &node) {
    return std::to_string(e.expires_ms) + " " + std::to_string(e.timeout_s) + " " +
           std::to_string(e.at_us) + " " + node;
}

std::optional<RemoteEvent> parse_stored_grant(const policy::Address &addr, std::string_view port,
                                              std::string_view value) {
    RemoteEvent r;
    r.event.addr = addr;
    std::string_view expires = next_word(value), timeout = next_word(value), at = next_word(value);
    if (!valid_node(value) || port.find(',') != std::string_view::npos ||
        !parse_ports(port, r.event) || !parse_times(expires, timeout, at, r.event))
        return std::nullopt;
    r.node = std::string(value);
    return r;
}

std::string grant_key(const std::string &prefix, const policy::Address &addr) {
    return prefix + ":grant:" + policy::format_address(addr);
}

std::optional<policy::Address> grant_key_address(const std::string &prefix, std::string_view key) {
    const std::string head = prefix + ":grant:";
    if (key.substr(0, head.size()) != head) return std::nullopt;
    return policy::parse_address(key.substr(head.size()));
}

size_t replay_key(const std::string &prefix, const spa::ReplayDigest &d, std::span<char> out) {
    static constexpr char kHex[] = "0123456789abcdef";
    static constexpr std::string_view kMid = ":replay:";
    const size_t need = prefix.size() + kMid.size() + 2 * d.size();
    if (out.size() < need) return 0;
    char *p = std::copy(prefix.begin(), prefix.end(), out.data());
    p = std::copy(kMid.begin(), kMid.end(), p);
    for (uint8_t b : d) {
        *p++ = kHex[b >> 4];
        *p++ = kHex[b & 15];
    }
    return need;
}

uint32_t remaining_seconds(const Event &e, int64_t now_ms) {
    const int64_t left_ms = std::min(e.expires_ms - now_ms, int64_t{e.timeout_s} * 1000);
    return left_ms < 1000 ? 0 : static_cast<uint32_t>(left_ms / 1000);
}

}  // namespace xk::cluster
