#include "nft/nft_ruleset.hpp"

#include <charconv>
#include <stdexcept>

namespace xk::nft {
namespace {

const std::string kObj = std::string(kFamily) + " " + std::string(kTable) + " ";

bool plain(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string name(std::string_view ifname, std::string_view suffix) {
    return encode_ifname(ifname) + std::string(suffix);
}

const char *suffix(GrantSet set) {
    switch (set) {
        case GrantSet::allow4:
            return "_allow4";
        case GrantSet::allow6:
            return "_allow6";
        case GrantSet::any4:
            return "_any4";
        case GrantSet::any6:
            return "_any6";
    }
    return "";
}

const char *set_type(GrantSet set) {
    switch (set) {
        case GrantSet::allow4:
            return "ipv4_addr . inet_proto . inet_service";
        case GrantSet::allow6:
            return "ipv6_addr . inet_proto . inet_service";
        case GrantSet::any4:
            return "ipv4_addr";
        case GrantSet::any6:
            return "ipv6_addr";
    }
    return "";
}

// iifname takes a quoted string where '*' at the end is a wildcard: names nft cannot
// carry as they are are refused, never approximated.
void check_ifname(std::string_view ifname) {
    if (ifname.empty() || ifname.size() > 15 ||
        ifname.find_first_of("\"\\*") != std::string_view::npos)
        throw std::invalid_argument("nftables gate: cannot name interface '" + std::string(ifname) +
                                    "' in a rule");
}

std::string port_elements(const std::vector<policy::PortRef> &ports) {
    std::string out;
    for (const auto &p : ports) {
        if (p.proto == 0) continue;
        out += (out.empty() ? "" : ", ") + std::to_string(p.proto) + " . " + std::to_string(p.port);
    }
    return out;
}

// Flushes and refills one ports set (added first, so a fresh table works too).
std::string refill(const std::string &set, const std::vector<policy::PortRef> &ports) {
    std::string s = "add set " + kObj + set + " { type inet_proto . inet_service; }\n" +
                    "flush set " + kObj + set + "\n";
    std::string elements = port_elements(ports);
    if (!elements.empty()) s += "add element " + kObj + set + " { " + elements + " }\n";
    return s;
}

// Every object of the interface, added if missing. `hooked`: the chain as a base chain;
// else declared plainly, which matches it whatever its hook and priority (a detach).
std::string declarations(std::string_view ifname, bool hooked) {
    std::string s = "add table " + std::string(kFamily) + " " + std::string(kTable) + "\n";
    for (GrantSet g : kGrantSets) {
        s += "add set " + kObj + set_name(ifname, g) + " { type " + set_type(g) +
             "; flags timeout; }\n";
    }
    s += "add set " + kObj + services_set(ifname) + " { type inet_proto . inet_service; }\n";
    s += "add set " + kObj + knocks_set(ifname) + " { type inet_proto . inet_service; }\n";
    for (const auto &c : {dropped_counter(ifname), passed_counter(ifname), knocked_counter(ifname)})
        s += "add counter " + kObj + c + "\n";
    s += "add chain " + kObj + chain_name(ifname);
    return s + (hooked ? " { type filter hook prerouting priority -140; policy accept; }\n" : "\n");
}

// Order matters: foreign interfaces and non-TCP/UDP leave first; knocks are dropped even
// from granted sources; established flows outlive their grant; the rest is dropped
// whatever its TCP flags (no RST, no ICMP: scans see nothing).
// Established only, not related: an ICMP error passes anyway (not tcp/udp), and a helper's
// expectation (FTP, SIP) must not open a protected port without a grant.
std::string rules(const GateSpec &spec) {
    const std::string_view ifname = spec.ifname;
    const std::string add = "add rule " + kObj + chain_name(ifname) + " ";
    const std::string passed = " counter name " + passed_counter(ifname) + " accept\n";
    const std::string knocked = " counter name " + knocked_counter(ifname) + " drop\n";
    const std::string l4 = "meta l4proto . th dport";
    const std::string iif = spec.ifindex ? "iif != " + std::to_string(spec.ifindex) + " " : "";
    std::string echoes;
    if (spec.icmp_knocks)
        echoes = add + "icmp type { echo-request, echo-reply }" + knocked + add +
                 "icmpv6 type { echo-request, echo-reply }" + knocked;
    return "flush chain " + kObj + chain_name(ifname) + "\n" +  //
           add + iif + "iifname != \"" + std::string(ifname) + "\" accept\n" + add +
           "meta l4proto { tcp, udp } " + l4 + " @" + knocks_set(ifname) + knocked + echoes + add +
           "meta l4proto != { tcp, udp } accept\n" + add + l4 + " != @" + services_set(ifname) +
           " accept\n" + add + "ct state established accept\n" + add + "ip saddr . " + l4 + " @" +
           set_name(ifname, GrantSet::allow4) + passed + add + "ip6 saddr . " + l4 + " @" +
           set_name(ifname, GrantSet::allow6) + passed + add + "ip saddr @" +
           set_name(ifname, GrantSet::any4) + passed + add + "ip6 saddr @" +
           set_name(ifname, GrantSet::any6) + passed + add + "counter name " +
           dropped_counter(ifname) + " drop\n";
}

}  // namespace

std::string encode_ifname(std::string_view ifname) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (size_t i = 0; i < ifname.size(); ++i) {
        const auto c = static_cast<unsigned char>(ifname[i]);
        if (plain(static_cast<char>(c)) && !(i == 0 && c >= '0' && c <= '9')) {
            out += static_cast<char>(c);
            continue;
        }
        out += '_';
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

std::optional<std::string> decode_ifname(std::string_view encoded) {
    std::string out;
    for (size_t i = 0; i < encoded.size(); ++i) {
        if (plain(encoded[i])) {
            out += encoded[i];
            continue;
        }
        if (encoded[i] != '_' || i + 2 >= encoded.size()) return std::nullopt;
        int hi = hex_value(encoded[i + 1]), lo = hex_value(encoded[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi << 4 | lo);
        i += 2;
    }
    if (out.empty() || encode_ifname(out) != encoded) return std::nullopt;
    return out;
}

std::string chain_name(std::string_view ifname) {
    return name(ifname, "_gate");
}
std::string set_name(std::string_view ifname, GrantSet set) {
    return name(ifname, suffix(set));
}
std::string services_set(std::string_view ifname) {
    return name(ifname, "_services");
}
std::string knocks_set(std::string_view ifname) {
    return name(ifname, "_knocks");
}
std::string dropped_counter(std::string_view ifname) {
    return name(ifname, "_dropped");
}
std::string passed_counter(std::string_view ifname) {
    return name(ifname, "_passed");
}
std::string knocked_counter(std::string_view ifname) {
    return name(ifname, "_knocked");
}

std::optional<std::string> ifname_of_chain(std::string_view chain) {
    constexpr std::string_view kSuffix = "_gate";
    if (chain.size() <= kSuffix.size() || !chain.ends_with(kSuffix)) return std::nullopt;
    return decode_ifname(chain.substr(0, chain.size() - kSuffix.size()));
}

std::string attach_script(const GateSpec &spec) {
    check_ifname(spec.ifname);
    return declarations(spec.ifname, true) + ports_script(spec) + rules(spec);
}

std::string ports_script(const GateSpec &spec) {
    check_ifname(spec.ifname);
    return refill(services_set(spec.ifname), spec.services) +
           refill(knocks_set(spec.ifname), spec.knocks);
}

std::string detach_script(std::string_view ifname, bool last) {
    check_ifname(ifname);
    std::string s = declarations(ifname, false);
    if (last) return s + "delete table " + std::string(kFamily) + " " + std::string(kTable) + "\n";
    // The chain first: its rules hold the sets and counters.
    s += "delete chain " + kObj + chain_name(ifname) + "\n";
    for (GrantSet g : kGrantSets) s += "delete set " + kObj + set_name(ifname, g) + "\n";
    s += "delete set " + kObj + services_set(ifname) + "\n";
    s += "delete set " + kObj + knocks_set(ifname) + "\n";
    for (const auto &c : {dropped_counter(ifname), passed_counter(ifname), knocked_counter(ifname)})
        s += "delete counter " + kObj + c + "\n";
    return s;
}

GrantSet set_for(const policy::Address &addr, const policy::PortRef &port) {
    if (port.proto == 0) return addr.is_v4() ? GrantSet::any4 : GrantSet::any6;
    return addr.is_v4() ? GrantSet::allow4 : GrantSet::allow6;
}

std::string element_key(const policy::Address &addr, const policy::PortRef &port) {
    std::string key = policy::format_address(addr);
    if (port.proto == 0) return key;
    return key + " . " + std::to_string(port.proto) + " . " + std::to_string(port.port);
}

std::string grant_comment(uint32_t range_id, uint32_t secret_id) {
    return "r" + std::to_string(range_id) + " s" + std::to_string(secret_id);
}

bool parse_grant_comment(std::string_view text, uint32_t &range_id, uint32_t &secret_id) {
    auto number = [](std::string_view &t, char tag, uint32_t &out) {
        if (t.empty() || t.front() != tag) return false;
        auto [end, ec] = std::from_chars(t.data() + 1, t.data() + t.size(), out);
        if (ec != std::errc{} || end == t.data() + 1) return false;
        t.remove_prefix(static_cast<size_t>(end - t.data()));
        return true;
    };
    uint32_t r = 0, s = 0;
    if (!number(text, 'r', r) || text.empty() || text.front() != ' ') return false;
    text.remove_prefix(1);
    if (!number(text, 's', s) || !text.empty()) return false;
    range_id = r;
    secret_id = s;
    return true;
}

// Whole seconds when they are: nft 1.0.6 refuses 100,000,000 ms and more.
std::string timeout_text(uint64_t timeout_ms) {
    return timeout_ms % 1000 == 0 ? std::to_string(timeout_ms / 1000) + "s"
                                  : std::to_string(timeout_ms) + "ms";
}

std::string grant_element(const policy::Address &addr, const policy::PortRef &port,
                          uint64_t timeout_ms, uint32_t range_id, uint32_t secret_id) {
    return element_key(addr, port) + " timeout " + timeout_text(timeout_ms) + " comment \"" +
           grant_comment(range_id, secret_id) + "\"";
}

namespace {
std::string element_command(std::string_view verb, std::string_view ifname, GrantSet set,
                            const std::vector<std::string> &items) {
    std::string s = std::string(verb) + " element " + kObj + set_name(ifname, set) + " { ";
    for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
    return s + " }\n";
}
}  // namespace

std::string add_elements(std::string_view ifname, GrantSet set,
                         const std::vector<std::string> &elements) {
    return element_command("add", ifname, set, elements);
}

std::string delete_elements(std::string_view ifname, GrantSet set,
                            const std::vector<std::string> &keys) {
    return element_command("delete", ifname, set, keys);
}

std::string list_set(std::string_view ifname, GrantSet set) {
    return "list set " + kObj + set_name(ifname, set);
}

}  // namespace xk::nft
