#include "cli/import_fwknop.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "hooks/hook_args.hpp"
#include "policy/config.hpp"
#include "spa/fko_plaintext.hpp"
#include "spa/fko_secret.hpp"
#include "spa/fko_types.hpp"

namespace xk::cli {
namespace {

using nlohmann::json;

struct Line {
    int number;
    std::string key, value;
    bool cut = false;  // text after a ';' was dropped (fwknopd ends a value there)
};

bool space(char c) {
    return isspace(static_cast<unsigned char>(c)) != 0;
}

size_t spaces_at(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && space(s[n])) ++n;
    return n;
}

// One "KEY  value…" line; false for a blank or comment line. By hand, not with streams: the
// importer reads every line of a fuzzed file and istringstream per line was its hot spot.
bool read_line(std::string_view raw, Line &l) {
    raw.remove_prefix(spaces_at(raw));
    size_t end = 0;
    while (end < raw.size() && !space(raw[end])) ++end;
    // '#' starts a comment only as the first word, as in fwknopd: keys may contain it.
    if (end == 0 || raw[0] == '#' || raw[0] == ';') return false;
    l.key.assign(raw.substr(0, end));
    if (l.key.size() > 1 && l.key.back() == ':') l.key.pop_back();
    std::string_view value = raw.substr(end);
    value.remove_prefix(spaces_at(value));
    if (size_t semi = value.find(';'); semi != std::string_view::npos) {
        std::string_view after = value.substr(semi + 1);
        l.cut = spaces_at(after) != after.size();
        value = value.substr(0, semi);
    }
    while (!value.empty() && space(value.back())) value.remove_suffix(1);
    l.value.assign(value);
    return true;
}

// "KEY  value…" lines; '#' comments and blank lines skipped; the value may hold spaces.
// As fwknopd reads them: a ':' ending the keyword is dropped, and ';' ends the value.
std::vector<Line> read_lines(const std::string &text) {
    std::vector<Line> out;
    std::string_view rest(text);
    for (int n = 1; !rest.empty(); ++n) {
        size_t nl = rest.find('\n');
        Line l{n, "", ""};
        if (read_line(rest.substr(0, nl), l)) out.push_back(std::move(l));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool yes(const std::string &v) {
    return v == "Y" || v == "y" || v == "yes" || v == "1";
}

std::vector<std::string> split_list(const std::string &v) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(v);
    while (std::getline(in, item, ',')) {
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

// Strict UTF-8, what a JSON string can hold: no overlong forms, no surrogates, <= U+10FFFF.
bool utf8(std::string_view s) {
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
        if (n == 3 && (c & 0xF8) != 0xF0) return false;
        uint32_t cp = n == 0 ? c : c & (0x3F >> n);
        if (i + n >= s.size() && n > 0) return false;
        for (size_t k = 1; k <= n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3F);
        }
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

[[noreturn]] void fail_in(const char *file, int line, const std::string &problem) {
    throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + problem);
}

// A whole decimal number in [lo, hi]; never a prefix ("12abc"), a sign or a wrap-around.
uint32_t number(const char *file, const Line &l, uint32_t lo, uint32_t hi) {
    uint64_t v = 0;
    const char *b = l.value.data(), *e = b + l.value.size();
    auto [end, ec] = std::from_chars(b, e, v);
    if (ec != std::errc() || end != e || v < lo || v > hi) {
        fail_in(file, l.number,
                l.key + " '" + l.value + "' is not a whole number in [" + std::to_string(lo) +
                    ", " + std::to_string(hi) + "]");
    }
    return static_cast<uint32_t>(v);
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

// "port" \s+ \d+ at the start of s: the digits.
std::optional<std::string_view> port_digits(std::string_view s) {
    if (!starts_with(s, "port")) return std::nullopt;
    s.remove_prefix(4);
    size_t n = spaces_at(s), d = n;
    while (d < s.size() && s[d] >= '0' && s[d] <= '9') ++d;
    if (n == 0 || d == n) return std::nullopt;
    return s.substr(n, d - n);
}

// The port of the first "PROTO [dst] port N" in a pcap filter (PROTO udp or tcp): what the
// regex PROTO\s+(?:dst\s+)?port\s+(\d+) found (searched anywhere, digits as long as they go).
std::optional<std::string_view> filter_port(std::string_view filter, std::string_view proto) {
    for (size_t at = filter.find(proto); at != std::string_view::npos;
         at = filter.find(proto, at + 1)) {
        std::string_view s = filter.substr(at + proto.size());
        size_t n = spaces_at(s);
        if (n == 0) continue;
        s.remove_prefix(n);
        if (starts_with(s, "dst") && spaces_at(s.substr(3)) > 0) {
            s.remove_prefix(3);
            s.remove_prefix(spaces_at(s));
        }
        if (auto digits = port_digits(s)) return digits;
    }
    return std::nullopt;
}

// fwknopd.conf settings that shape every range.
struct DaemonSettings {
    uint16_t port = 62201;
    uint32_t proof_time = 120;
    std::string interface;
    json transports;               // null: udp only, the ranges' default
    bool tcp_captured = false;     // PCAP_FILTER takes TCP to the knock port ("tcp port", "port")
    bool x_forwarded_for = false;  // ENABLE_X_FORWARDED_FOR Y with ENABLE_SPA_OVER_HTTP Y
    std::string gpg_home_dir = "/root/.gnupg";  // GPG_HOME_DIR: the stanzas' default
    std::vector<std::string> warnings;
};

// PCAP_FILTER: what fwknopd captures is what it judges. "udp port N" and "tcp port N" (the
// knock in a raw TCP segment, fwknop -P tcpraw) name the knock port, which must be one;
// "icmp" takes knocks in echoes (-P icmp). A range has one knock port: a tcp port other than
// the udp one is left out (fewer knocks taken, never more), and said. A negation could turn
// any of these around, so a filter with one is refused.
void read_pcap_filter(const Line &l, DaemonSettings &d) {
    if (l.value.find("not") != std::string::npos || l.value.find('!') != std::string::npos)
        fail_in("fwknopd.conf", l.number,
                "PCAP_FILTER with a negation: xdpknock reads only \"udp port N\", \"tcp port "
                "N\" and \"icmp\" joined by \"or\"");
    // fwknopd reads the last PCAP_FILTER line: nothing of an earlier one stays.
    d.port = 62201;
    d.transports = nullptr;
    d.tcp_captured = false;
    auto udp = filter_port(l.value, "udp"), tcp = filter_port(l.value, "tcp");
    // A bare "port N" captures UDP and TCP: knocks in datagrams, and (with SPA over HTTP)
    // requests; its raw TCP segments are left out (fewer knocks taken, never more).
    if (auto bare = port_digits(l.value); bare && !udp && !tcp) {
        udp = bare;
        d.tcp_captured = true;
    }
    if (udp && tcp && *udp != *tcp) {
        d.warnings.push_back("fwknopd.conf:" + std::to_string(l.number) +
                             ": PCAP_FILTER tcp port " + std::string(*tcp) +
                             " not carried over (a range takes its knocks on "
                             "one port: udp port " +
                             std::string(*udp) + ")");
        tcp.reset();
    }
    if (auto digits = udp ? udp : tcp) {
        Line port{l.number, "PCAP_FILTER port", std::string(*digits)};
        d.port = static_cast<uint16_t>(number("fwknopd.conf", port, 1, 65535));
    }
    const bool icmp = l.value.find("icmp") != std::string::npos;
    d.tcp_captured = d.tcp_captured || tcp;
    if (!tcp && !icmp) return;
    d.transports = json::array();
    if (udp) d.transports.push_back("udp");
    if (tcp) d.transports.push_back("tcpraw");
    if (icmp) d.transports.push_back("icmp");
}

// fwknopd.conf switches that change what is accepted and have no xdpknock form yet.
void refuse_switch(const Line &l) {
    if (!yes(l.value)) return;
    if (l.key == "ENABLE_TCP_SERVER")
        fail_in("fwknopd.conf", l.number,
                "ENABLE_TCP_SERVER Y: an accepting TCP socket a scan would find; xdpknock takes "
                "the knock in a single raw TCP segment instead (fwknop -P tcpraw, "
                "\"transports\": [\"tcpraw\"])");
}

// ENABLE_SPA_OVER_HTTP Y: fwknop -P http's requests on the knock port, when fwknopd captures
// TCP there; they take the place of raw TCP knocks, whose SYNs the web server needs.
void carry_http(int line, bool xff, DaemonSettings &d) {
    const std::string where = "fwknopd.conf:" + std::to_string(line) + ": ";
    if (!d.tcp_captured) {
        d.warnings.push_back(where +
                             "ENABLE_SPA_OVER_HTTP Y not carried over: PCAP_FILTER "
                             "captures no TCP to the knock port");
        return;
    }
    json t = json::array();
    for (const json &name : d.transports.is_null() ? json::array({"udp"}) : d.transports) {
        if (name == "tcpraw")
            d.warnings.push_back(where + "tcpraw knocks not carried over: tcp/" +
                                 std::to_string(d.port) + " is the web server's (SPA over HTTP)");
        else
            t.push_back(name);
    }
    t.push_back("http");
    d.transports = t;
    d.x_forwarded_for = xff;
}

// fwknopd.conf's GPG keywords: the stanzas' default keyring; its own gpg binary is not ours.
void read_gpg_default(const Line &l, DaemonSettings &d) {
    if (l.key == "GPG_HOME_DIR") d.gpg_home_dir = l.value;
    if (l.key == "GPG_EXE")
        d.warnings.push_back("fwknopd.conf:" + std::to_string(l.number) +
                             ": GPG_EXE not carried over (gpgme runs the system's gpg)");
}

DaemonSettings read_fwknopd_conf(const std::string &text) {
    DaemonSettings d;
    bool aging = true, udp_server = false, xff = false;
    int http_line = 0;  // ENABLE_SPA_OVER_HTTP Y
    uint32_t udp_server_port = 62201;
    for (const auto &l : read_lines(text)) {
        if (l.key == "PCAP_INTF") {
            if (const char *problem = policy::interface_name_problem(l.value))
                fail_in("fwknopd.conf", l.number, "PCAP_INTF " + std::string(problem));
            d.interface = l.value;
        }
        // 0 would switch the window off here: only ENABLE_SPA_PACKET_AGING N does that.
        if (l.key == "MAX_SPA_PACKET_AGE") d.proof_time = number("fwknopd.conf", l, 1, 86400);
        if (l.key == "ENABLE_SPA_PACKET_AGING") aging = yes(l.value);
        if (l.key == "PCAP_FILTER") read_pcap_filter(l, d);
        if (l.key == "ENABLE_UDP_SERVER") udp_server = yes(l.value);
        if (l.key == "UDPSERV_PORT") udp_server_port = number("fwknopd.conf", l, 1, 65535);
        if (l.key == "ENABLE_SPA_OVER_HTTP") http_line = yes(l.value) ? l.number : 0;
        if (l.key == "ENABLE_X_FORWARDED_FOR") xff = yes(l.value);
        if ((l.key == "ENABLE_IPT_FORWARDING" || l.key == "ENABLE_IPT_LOCAL_NAT") && yes(l.value))
            d.warnings.push_back("fwknopd.conf:" + std::to_string(l.number) + ": " + l.key +
                                 " Y: clients' NAT requests (fwknop -N) not carried over; a "
                                 "range takes them with \"allow_client_nat\": true and the "
                                 "\"nat_targets\" they may reach (FORCE_NAT lines are carried)");
        read_gpg_default(l, d);
        if (l.key == "ALLOW_ANY_USER_AGENT" && yes(l.value))
            d.warnings.push_back("fwknopd.conf:" + std::to_string(l.number) +
                                 ": ALLOW_ANY_USER_AGENT Y not carried over: an http knock's "
                                 "User-Agent must start with Fwknop (as in fwknopd 2.6.10)");
        refuse_switch(l);
    }
    if (http_line && !udp_server) carry_http(http_line, xff, d);
    // fwknopd's UDP server mode reads datagrams on UDPSERV_PORT and ignores PCAP_FILTER.
    if (udp_server) {
        d.port = static_cast<uint16_t>(udp_server_port);
        d.transports = nullptr;
    }
    if (!aging) d.proof_time = 0;
    return d;
}

// One access.conf stanza as it is read: a range in the making.
struct Stanza {
    int line = 0;        // its SOURCE line
    std::string source;  // SOURCE's value, to name the stanza in messages
    json range, secret = json::object();
    std::vector<policy::PortRef> restricted;  // RESTRICT_PORTS
    int restrict_line = 0;
    spa::FkoSecret fko;         // the secret as the loader will see it (wiped when done)
    json gpg = json::object();  // GPG_*: a second secret, in GPG mode
    spa::GpgSettings gpg_settings;
    int gpg_line = 0;              // GPG_DECRYPT_ID
    int gpg_first_line = 0;        // the first GPG_* keyword
    bool gpg_require_sig = false;  // GPG_REQUIRE_SIG Y
    bool gpg_disable_sig = false;  // GPG_DISABLE_SIG Y
    std::string gpg_home_dir;      // fwknopd.conf's GPG_HOME_DIR, unless the stanza has one
    int mode_line = 0;             // ENCRYPTION_MODE
    int timeout_line = 0;          // FW_ACCESS_TIMEOUT
    std::optional<Line> cycle_open, cycle_close;  // CMD_CYCLE_OPEN / CMD_CYCLE_CLOSE
    int timer_line = 0;                           // CMD_CYCLE_TIMER
    uint32_t timer = 0;
};

[[noreturn]] void refuse(const Stanza &s, int line, const std::string &problem) {
    fail_in("access.conf", line,
            problem + " (stanza SOURCE " + s.source + " at line " + std::to_string(s.line) + ")");
}

void warn(ImportResult &r, int line, const std::string &what) {
    r.warnings.push_back("access.conf:" + std::to_string(line) + ": " + what);
}

policy::PortRef port_ref(const Stanza &s, const Line &l, const std::string &text) {
    try {
        return policy::parse_port_ref(text);
    } catch (const policy::ConfigError &e) {
        refuse(s, l.number, l.key + " " + text + ": " + e.what());
    }
}

Stanza start_stanza(const Line &l, const DaemonSettings &daemon, size_t index) {
    Stanza s;
    s.line = l.number;
    s.source = l.value;
    s.gpg_home_dir = daemon.gpg_home_dir;
    s.range = {{"name", "fwknop-" + std::to_string(index + 1)},
               {"method", "fko"},
               {"port", daemon.port},
               {"proof_time", daemon.proof_time},
               {"timeout", 30}};
    if (!daemon.transports.is_null()) s.range["transports"] = daemon.transports;
    json sources = json::array();
    for (const auto &src : split_list(l.value)) {
        if (src == "ANY") {
            sources = {"0.0.0.0/0", "::/0"};
            break;
        }
        if (!policy::parse_cidr(src))
            refuse(s, l.number, "SOURCE " + src + " is not an address or CIDR");
        sources.push_back(src);
    }
    s.range["sources"] = sources;
    return s;
}

// DESTINATION: the addresses a knock may be sent to, as fwknopd matches the SPA packet's
// destination; ANY (or nothing else) is every one, the range's default.
json destinations(Stanza &s, const Line &l) {
    json out = json::array();
    for (const auto &d : split_list(l.value)) {
        if (d == "ANY") return nullptr;
        if (!policy::parse_cidr(d))
            refuse(s, l.number, "DESTINATION " + d + " is not an address or CIDR");
        out.push_back(d);
    }
    if (out.empty()) refuse(s, l.number, "DESTINATION names no address (ANY for every one)");
    return out;
}

// Whether the stanza's range takes knocks over proto (17 or 6) on its port.
bool takes_knocks(const Stanza &s, uint8_t proto) {
    if (!s.range.contains("transports")) return proto == 17;
    const json &t = s.range["transports"];
    auto has = [&](const char *name) { return std::find(t.begin(), t.end(), name) != t.end(); };
    return proto == 17 ? has("udp") : proto == 6 && (has("tcpraw") || has("http"));
}

// OPEN_PORTS: the ports the stanza opens, each a protected service of the config. The
// knock port itself cannot be one: the gate could not tell knocks from the service.
void open_ports(Stanza &s, const Line &l, std::vector<std::string> &service_ports) {
    json open = json::array();
    for (const auto &p : split_list(l.value)) {
        const policy::PortRef port = port_ref(s, l, p);
        const std::string ref = policy::format_port(port);
        if (port.proto == 0) refuse(s, l.number, "OPEN_PORTS " + p + ": name a tcp/ or udp/ port");
        if (s.range["port"] == port.port && takes_knocks(s, port.proto))
            refuse(s, l.number, "OPEN_PORTS " + ref + " is the knock port (PCAP_FILTER)");
        open.push_back(ref);
        service_ports.push_back(ref);
    }
    if (open.empty()) refuse(s, l.number, "OPEN_PORTS lists no port");
    s.range["open"] = open;
}

// RESTRICT_PORTS: ports never opened even when asked for. Carried by leaving them out of
// "open"; fwknopd's "any port but these" has no xdpknock form, so it is refused.
void apply_restrictions(Stanza &s) {
    if (!s.range.contains("open")) {
        if (!s.restricted.empty()) {
            refuse(s, s.restrict_line,
                   "RESTRICT_PORTS without OPEN_PORTS means \"every port but these\", which "
                   "xdpknock cannot say: list the ports this stanza may open in OPEN_PORTS");
        }
        s.range["open"] = json::array({"*"});  // fwknopd: any port
        return;
    }
    json open = json::array();
    for (const auto &p : s.range["open"]) {
        auto ref = policy::parse_port_ref(p.get<std::string>());
        if (std::find(s.restricted.begin(), s.restricted.end(), ref) == s.restricted.end()) {
            open.push_back(p);
        }
    }
    if (open.empty()) refuse(s, s.restrict_line, "RESTRICT_PORTS takes every OPEN_PORTS port");
    s.range["open"] = open;
}

// ---- CMD_CYCLE_OPEN / CMD_CYCLE_CLOSE / CMD_CYCLE_TIMER: the range's hooks
//
// fwknopd (server/cmd_cycle.c, extcmd.c, common strtoargv) replaces $VARs in the command,
// splits it at white space (no quoting) and execvpe()s it: no shell. The open command runs
// on a valid knock, the close one CMD_CYCLE_TIMER seconds later (or after the client's
// timeout). Here: on_authorize, on_expire (when the grant leaves the map), timeout.

struct Substitution {
    std::string_view var;
    const char *placeholder;  // nullptr: none in xdpknock
    const char *meaning;
};

// In fwknopd's matching order (a prefix match: "$IPx" is $IP then "x").
constexpr Substitution kSubstitutions[] = {
    {"IP", "%IP%", "the allowed address"},
    {"SRC", "%IP%", "the allowed address"},
    // xdpknock authorizes a knock's packet source only: the same address as $IP.
    {"PKT_SRC", "%IP%", "the packet's source"},
    {"DST", nullptr, "the address knocked on"},
    {"PORT", "%PORTNUM%", "the first port's number"},
    {"PROTO", "%PROTONUM%", "the first port's protocol number"},
    {"TIMEOUT", nullptr, "the end of access as a Unix time"},
    {"CLIENT_TIMEOUT", nullptr, "the client's timeout"},
};

// One word of the command with fwknopd's $VARs as xdpknock placeholders. fwknopd drops the
// '$' of anything else; that silent change is refused instead.
std::string hook_word(const Stanza &s, const Line &l, std::string_view word) {
    std::string out;
    for (size_t i = 0; i < word.size(); ++i) {
        if (word[i] != '$') {
            out += word[i];
            continue;
        }
        std::string_view rest = word.substr(i + 1);
        const auto *sub =
            std::find_if(std::begin(kSubstitutions), std::end(kSubstitutions),
                         [&](const Substitution &x) { return starts_with(rest, x.var); });
        if (sub == std::end(kSubstitutions)) {
            refuse(s, l.number,
                   l.key + ": '$" + std::string(rest) +
                       "' is none of fwknopd's substitutions ($IP $SRC $PKT_SRC $PORT $PROTO)");
        }
        if (!sub->placeholder) {
            refuse(s, l.number,
                   l.key + ": $" + std::string(sub->var) + " (" + sub->meaning +
                       ") has no xdpknock placeholder");
        }
        out += sub->placeholder;
        i += sub->var.size();
    }
    return out;
}

// The program: absolute (fwknopd searched its PATH; the hook runner does not) and, as the
// config loader will check, an executable on this machine.
void check_program(const Stanza &s, const Line &l, const std::string &program) {
    if (program.find('$') != std::string::npos)
        refuse(s, l.number, l.key + ": the program cannot hold a substitution");
    if (program[0] != '/') {
        refuse(s, l.number,
               l.key + ": " + program +
                   " is not an absolute path (fwknopd looked it up in its PATH; write the "
                   "program's full path)");
    }
    if (access(program.c_str(), X_OK) != 0)
        refuse(s, l.number, l.key + ": " + program + " is not an executable: " + strerror(errno));
}

// The config loader reads the text between any two '%' as a placeholder name and refuses an
// unknown all-capital one, even across a placeholder's closing '%' ("%IP%_%PORTNUM%" holds
// "_" for it, not for expand()). Such a word is refused here, on its line.
bool loader_takes(const std::string &word) {
    for (size_t pos = word.find('%'); pos != std::string::npos; pos = word.find('%', pos + 1)) {
        size_t end = word.find('%', pos + 1);
        if (end == std::string::npos) break;
        std::string_view name = std::string_view(word).substr(pos + 1, end - pos - 1);
        if (!name.empty() &&
            std::all_of(name.begin(), name.end(),
                        [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }) &&
            !hooks::known_placeholder(name))
            return false;
    }
    return true;
}

// A CMD_CYCLE_* command as a hook's argv.
json hook_command(const Stanza &s, const Line &l) {
    const std::string &v = l.value;
    if (v.empty()) refuse(s, l.number, l.key + " has no command");
    if (!utf8(v)) refuse(s, l.number, l.key + " is not UTF-8 text");
    if (std::any_of(v.begin(), v.end(),
                    [](char c) { return c != '\t' && static_cast<unsigned char>(c) < 0x20; }))
        refuse(s, l.number, l.key + " holds a control character");
    if (l.cut) {
        refuse(s, l.number,
               l.key +
                   " needs a shell: ';' (fwknopd ends the value there and runs no shell; "
                   "put the commands in a script and name the script)");
    }
    if (size_t at = v.find_first_of("|&<>()`'\"\\"); at != std::string::npos) {
        refuse(s, l.number,
               l.key + " needs a shell: '" + v[at] +
                   "' (fwknopd runs the command without one; put it in a script and name the "
                   "script)");
    }
    if (v.find('%') != std::string::npos)
        refuse(s, l.number, l.key + ": a '%' would read as an xdpknock hook placeholder");
    json argv = json::array();
    for (size_t i = spaces_at(v); i < v.size(); i += spaces_at(std::string_view(v).substr(i))) {
        size_t end = i;
        while (end < v.size() && !space(v[end])) ++end;
        std::string_view word = std::string_view(v).substr(i, end - i);
        if (argv.empty()) check_program(s, l, std::string(word));
        std::string arg = hook_word(s, l, word);
        if (!loader_takes(arg)) {
            refuse(s, l.number,
                   l.key + ": " + std::string(word) +
                       " would read as an unknown %PLACEHOLDER% to the config loader");
        }
        argv.push_back(std::move(arg));
        i = end;
    }
    return argv;
}

void carry_cmd_cycle(Stanza &s, ImportResult &r) {
    if (!s.cycle_open && !s.cycle_close) {
        if (s.timer_line) warn(r, s.timer_line, "CMD_CYCLE_TIMER without CMD_CYCLE_OPEN ignored");
        return;
    }
    if (!s.cycle_close) {
        refuse(s, s.cycle_open->number,
               "CMD_CYCLE_OPEN without CMD_CYCLE_CLOSE (fwknopd refuses it too; "
               "CMD_CYCLE_CLOSE NONE runs nothing)");
    }
    if (!s.cycle_open) refuse(s, s.cycle_close->number, "CMD_CYCLE_CLOSE without CMD_CYCLE_OPEN");
    json hooks = {{"on_authorize", hook_command(s, *s.cycle_open)}};
    // As fwknopd: a close command starting with NONE is none.
    if (!starts_with(s.cycle_close->value, "NONE")) {
        if (!s.timer_line) {
            refuse(s, s.cycle_close->number,
                   "CMD_CYCLE_CLOSE needs CMD_CYCLE_TIMER (fwknopd refuses it too)");
        }
        hooks["on_expire"] = hook_command(s, *s.cycle_close);
    }
    if (s.timer_line) {
        s.range["timeout"] = s.timer;  // the close command runs as the grant ends
        if (s.timeout_line)
            warn(r, s.timeout_line,
                 "FW_ACCESS_TIMEOUT gives way to CMD_CYCLE_TIMER, as in fwknopd");
    }
    s.range["hooks"] = hooks;
    warn(r, s.cycle_open->number,
         "CMD_CYCLE_OPEN runs as the range's on_authorize hook; unlike fwknopd, the gate also "
         "opens the stanza's ports itself for the grant");
}

// ---- the secret

// KEY / KEY_BASE64 / HMAC_KEY / HMAC_KEY_BASE64, checked on their own line; a key is never
// quoted in a message.
void set_secret(Stanza &s, const Line &l) {
    if (l.value.empty()) refuse(s, l.number, l.key + " has no value");
    if (l.value == "__CHANGEME__") refuse(s, l.number, l.key + " is still __CHANGEME__");
    // fwknopd reads the key as a C string: it would end at the NUL.
    if (l.value.find('\0') != std::string::npos) refuse(s, l.number, l.key + " holds a NUL byte");
    const bool hmac = starts_with(l.key, "HMAC_");
    const bool b64 = l.key.size() > 7 && l.key.compare(l.key.size() - 7, 7, "_BASE64") == 0;
    std::vector<uint8_t> &bytes = hmac ? s.fko.hmac_key : s.fko.key;
    if (b64 && (!spa::secret_from_base64(l.value, bytes) || bytes.empty()))
        refuse(s, l.number, l.key + " is not base64 (or decodes to nothing)");
    if (!b64 && !utf8(l.value))
        refuse(s, l.number, l.key + " is not UTF-8 text (give it as " + l.key + "_BASE64)");
    if (!b64) bytes = spa::secret_from_passphrase(l.value);
    const size_t max = hmac ? spa::kMaxHmacKeyLen : spa::kMaxKeyLen;
    if (bytes.size() > max)
        refuse(s, l.number, l.key + " is longer than " + std::to_string(max) + " bytes");
    const std::string other = b64 ? l.key.substr(0, l.key.size() - 7) : l.key + "_BASE64";
    if (s.secret.contains(lower(other)))
        refuse(s, l.number, "give " + other + " or " + l.key + ", not both");
    s.secret[lower(l.key)] = l.value;
}

void set_hmac_type(Stanza &s, const Line &l) {
    std::string h = lower(l.value);
    std::replace(h.begin(), h.end(), '-', '_');
    auto type = spa::parse_hmac_type(h);
    if (!type || *type == spa::HmacType::none) {
        refuse(s, l.number,
               "HMAC_DIGEST_TYPE " + l.value +
                   " is not md5, sha1, sha256, sha384, sha512, sha3_256 or sha3_512");
    }
    s.fko.hmac = *type;
    s.secret["hmac"] = h;
}

void set_mode(Stanza &s, const Line &l) {
    std::string m = lower(l.value);
    auto mode = spa::parse_mode(m);
    if (!mode) {
        refuse(s, l.number,
               "ENCRYPTION_MODE " + l.value + " is not cbc, ctr, cfb, ofb, ecb or legacy");
    }
    s.fko.mode = *mode;
    s.mode_line = l.number;
    s.secret["mode"] = m;
}

void finish_secret(Stanza &s) {
    json &secret = s.secret;
    const bool hmac_key = secret.contains("hmac_key") || secret.contains("hmac_key_base64");
    if (hmac_key && !secret.contains("hmac")) {
        secret["hmac"] = "sha256";  // fwknopd's default with an HMAC key
    }
    // Without a key fwknopd ignores HMAC_DIGEST_TYPE (as parse_key_file does); the config
    // loader refuses a type without a key.
    if (!hmac_key) secret.erase("hmac");
    if (!hmac_key) s.fko.hmac = spa::HmacType::none;
    // What is left is how the parts combine (legacy mode with an HMAC).
    if (const char *problem = spa::secret_problem(s.fko))
        refuse(s, s.mode_line ? s.mode_line : s.line, problem);
    secret["label"] = "access.conf:" + std::to_string(s.line);
}

// The stanza's GPG secret: its GPG_* keys with the stanza's HMAC key (fwknopd checks the
// HMAC of GPG knocks with it too).
json gpg_secret(Stanza &s, ImportResult &r) {
    json g = s.gpg;
    if (!g.contains("gpg_home_dir")) g["gpg_home_dir"] = s.gpg_home_dir;
    const std::string home = g["gpg_home_dir"];
    if (home.rfind("/var/lib/xdpknock/", 0) != 0)
        warn(r, s.gpg_line,
             "the keyring " + home +
                 " is out of xdpknockd.service's reach (it sees only /var/lib/xdpknock "
                 "writable, /root not at all): copy it to /var/lib/xdpknock/gnupg and set "
                 "gpg_home_dir");
    for (const char *k : {"hmac_key", "hmac_key_base64", "hmac"})
        if (s.secret.contains(k)) g[k] = s.secret[k];
    g["label"] = "access.conf:" + std::to_string(s.line) + ":gpg";
    // As fwknopd settles them (last line wins; GPG_REQUIRE_SIG Y beats GPG_DISABLE_SIG Y).
    spa::GpgSettings &gs = s.gpg_settings;
    gs.require_sig = s.gpg_require_sig || !s.gpg_disable_sig;
    if (!gs.require_sig) g["gpg_require_sig"] = false;
    if (gs.ignore_sig_verify_error) g["gpg_ignore_sig_verify_error"] = true;
    if (gs.allow_no_pw && gs.decrypt_pw.empty()) g["gpg_allow_no_pw"] = true;  // else the pw
    gs.allow_no_pw = gs.allow_no_pw && gs.decrypt_pw.empty();
    if (!gs.remote_ids.empty()) g["gpg_remote_ids"] = gs.remote_ids;
    if (!gs.fingerprint_ids.empty()) g["gpg_fingerprint_ids"] = gs.fingerprint_ids;
    if (gs.decrypt_pw.empty() && !gs.allow_no_pw)
        refuse(s, s.gpg_line, "GPG_DECRYPT_ID needs GPG_DECRYPT_PW or GPG_ALLOW_NO_PW Y");
    if (gs.require_sig && gs.remote_ids.empty() && gs.fingerprint_ids.empty())
        refuse(s, s.gpg_line,
               "GPG_DECRYPT_ID with signatures required (fwknopd's default) needs GPG_REMOTE_ID "
               "or GPG_FINGERPRINT_ID, as fwknopd does; GPG_DISABLE_SIG Y takes any sender");
    return g;
}

// KEY(_BASE64) makes a Rijndael secret, GPG_DECRYPT_ID a GPG one: a stanza may have both.
json stanza_secrets(Stanza &s, ImportResult &r) {
    const bool rijndael = s.secret.contains("key") || s.secret.contains("key_base64");
    const bool gpg = s.gpg.contains("gpg_decrypt_id");
    if (!rijndael && !gpg) refuse(s, s.line, "stanza has no KEY, KEY_BASE64 or GPG_DECRYPT_ID");
    if (!gpg && s.gpg_first_line)
        warn(r, s.gpg_first_line,
             "GPG_* keywords without GPG_DECRYPT_ID not carried over (fwknopd takes no GPG "
             "knock for this stanza either)");
    finish_secret(s);
    json secrets = json::array();
    if (gpg) secrets.push_back(gpg_secret(s, r));
    if (!rijndael) return secrets;
    secrets.insert(secrets.begin(), s.secret);
    return secrets;
}

void finish_stanza(Stanza &s, json &ranges, ImportResult &r) {
    if (s.range.is_null()) return;
    s.range["secrets"] = stanza_secrets(s, r);
    apply_restrictions(s);
    carry_cmd_cycle(s, r);
    ranges.push_back(s.range);
    s = Stanza{};
}

// Keywords that would open more (or something else) than fwknopd did if dropped.
bool cannot_carry(const std::string &key) {
    static const char *const kRefused[] = {"DISABLE_DNAT", "FORWARD_ALL",     "SERVICE_LIST",
                                           "%include",     "%include_folder", "%include_keys"};
    return std::any_of(std::begin(kRefused), std::end(kRefused),
                       [&](const char *k) { return key == k; });
}

// Keywords whose loss closes more, never opens: command messages stay refused (fko
// refuses them in packets).
bool harmless_to_drop(const std::string &key) {
    return key == "ENABLE_CMD_EXEC" || key == "ENABLE_CMD_SUDO_EXEC" ||
           key.rfind("CMD_EXEC_", 0) == 0 || key.rfind("CMD_SUDO_EXEC_", 0) == 0;
}

// GPG_REMOTE_ID / GPG_FINGERPRINT_ID: lists of key IDs, each checked here; a later line
// replaces an earlier one, as in fwknopd.
void gpg_ids(Stanza &s, const Line &l, bool fingerprint) {
    auto &ids = fingerprint ? s.gpg_settings.fingerprint_ids : s.gpg_settings.remote_ids;
    ids.clear();
    for (const auto &id : split_list(l.value)) {
        if (!spa::gpg_key_id_ok(id, fingerprint) || (!fingerprint && id.size() != 8))
            refuse(s, l.number,
                   l.key + " " + id + " is not " + (fingerprint ? "40" : "8") + " hex digits" +
                       (fingerprint ? ""
                                    : " (fwknopd 2.6.10 matches only the last 8 of a "
                                      "fingerprint; give those, or GPG_FINGERPRINT_ID)"));
        ids.push_back(id);
    }
}

// The stanza's GPG_* keywords; false for any other.
bool gpg_keyword(Stanza &s, const Line &l, ImportResult &r) {
    const std::string &k = l.key;
    if (k.rfind("GPG_", 0) == 0 && !s.gpg_first_line) s.gpg_first_line = l.number;
    spa::GpgSettings &g = s.gpg_settings;
    if (k == "GPG_HOME_DIR" || k == "GPG_DECRYPT_ID" || k == "GPG_DECRYPT_PW") {
        if (l.value.empty() || l.value.find('\0') != std::string::npos)
            refuse(s, l.number, k + " has no value (or holds a NUL byte)");
        if (l.value == "__CHANGEME__") refuse(s, l.number, k + " is still __CHANGEME__");
        s.gpg[lower(k)] = l.value;
        if (k == "GPG_DECRYPT_ID") s.gpg_line = l.number;
        if (k == "GPG_DECRYPT_PW") g.decrypt_pw = spa::secret_from_passphrase(l.value);
    } else if (k == "GPG_ALLOW_NO_PW") {
        g.allow_no_pw = yes(l.value);
    } else if (k == "GPG_DISABLE_SIG") {
        s.gpg_disable_sig = yes(l.value);
    } else if (k == "GPG_REQUIRE_SIG") {
        s.gpg_require_sig = yes(l.value);
        if (!s.gpg_require_sig)
            warn(r, l.number,
                 "GPG_REQUIRE_SIG N changes nothing in fwknopd 2.6.10 (signatures stay "
                 "required); GPG_DISABLE_SIG Y turns them off");
    } else if (k == "GPG_IGNORE_SIG_VERIFY_ERROR") {
        g.ignore_sig_verify_error = yes(l.value);
    } else if (k == "GPG_REMOTE_ID" || k == "GPG_FINGERPRINT_ID") {
        gpg_ids(s, l, k == "GPG_FINGERPRINT_ID");
    } else if (k == "GPG_EXE") {
        warn(r, l.number, "GPG_EXE not carried over (gpgme runs the system's gpg)");
    } else {
        return false;
    }
    return true;
}

// ACCESS_EXPIRE MM/DD/YYYY: that day's local midnight, fwknopd's mktime() of it.
int64_t expire_date(const Stanza &s, const Line &l) {
    unsigned m = 0, d = 0, y = 0;
    char end = 0;
    if (std::sscanf(l.value.c_str(), "%2u/%2u/%4u%c", &m, &d, &y, &end) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31 || y < 1970)
        refuse(s, l.number, "ACCESS_EXPIRE " + l.value + " is not a MM/DD/YYYY date");
    std::tm tm{};
    tm.tm_year = static_cast<int>(y) - 1900;
    tm.tm_mon = static_cast<int>(m) - 1;
    tm.tm_mday = static_cast<int>(d);
    tm.tm_isdst = -1;
    const time_t at = mktime(&tm);  // -1 or less before the epoch in this zone
    if (at <= 0) refuse(s, l.number, "ACCESS_EXPIRE " + l.value + " is before 1970");
    return at;
}

// REQUIRE_USERNAME and ACCESS_EXPIRE(_EPOCH): the range's users and expiry.
bool access_keyword(Stanza &s, const Line &l) {
    if (l.key == "REQUIRE_USERNAME") {
        // Checked here: a name no knock can carry would also not survive as JSON text.
        if (!spa::fko_user_name_ok(l.value))
            refuse(s, l.number, "REQUIRE_USERNAME is not a user name an fko knock can carry");
        s.range["users"] = json::array({l.value});
    } else if (l.key == "ACCESS_EXPIRE") {
        s.range["expires_at"] = expire_date(s, l);
    } else if (l.key == "ACCESS_EXPIRE_EPOCH") {
        s.range["expires_at"] = number("access.conf", l, 1, 1u << 31);
    } else {
        return false;
    }
    return true;
}

// CMD_CYCLE_*: kept for the end of the stanza, where they become its hooks.
bool cycle_keyword(Stanza &s, const Line &l) {
    if (l.key == "CMD_CYCLE_OPEN") {
        s.cycle_open = l;
    } else if (l.key == "CMD_CYCLE_CLOSE") {
        s.cycle_close = l;
    } else if (l.key == "CMD_CYCLE_TIMER") {
        s.timer = number("access.conf", l, 1, 86400);  // a range's timeout
        s.timer_line = l.number;
    } else {
        return false;
    }
    return true;
}

// FORCE_NAT "IP PORT", FORCE_SNAT "IP", FORCE_MASQUERADE Y: the range's NAT access. A
// source translation needs a FORCE_NAT before it (the config's "snat" translates NAT access).
bool nat_keyword(Stanza &s, const Line &l) {
    if (l.key == "FORCE_NAT") {
        std::istringstream words(l.value);
        std::string ip, port, extra;
        words >> ip >> port >> extra;
        const std::string endpoint =
            (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + port;
        if (port.empty() || !extra.empty() || !policy::parse_endpoint(endpoint))
            refuse(s, l.number, "FORCE_NAT " + l.value + " is not \"IP PORT\"");
        s.range["nat"] = {{"to", endpoint}};
    } else if (l.key == "FORCE_SNAT" || (l.key == "FORCE_MASQUERADE" && yes(l.value))) {
        if (!s.range.contains("nat"))
            refuse(s, l.number, l.key + " without a FORCE_NAT line before it");
        if (l.key == "FORCE_SNAT" && !policy::parse_address(l.value))
            refuse(s, l.number, "FORCE_SNAT " + l.value + " is not an IP address");
        s.range["snat"] = l.key == "FORCE_SNAT" ? l.value : "masquerade";
    } else {
        return l.key == "FORCE_MASQUERADE";  // N: nothing to carry
    }
    return true;
}

// One keyword inside a stanza; false when it is not a stanza keyword at all.
bool stanza_keyword(Stanza &s, const Line &l, std::vector<std::string> &service_ports) {
    const std::string &k = l.key;
    if (k == "KEY" || k == "KEY_BASE64" || k == "HMAC_KEY" || k == "HMAC_KEY_BASE64") {
        set_secret(s, l);
    } else if (k == "HMAC_DIGEST_TYPE") {
        set_hmac_type(s, l);
    } else if (k == "ENCRYPTION_MODE") {
        set_mode(s, l);
    } else if (k == "FW_ACCESS_TIMEOUT") {
        s.range["timeout"] = number("access.conf", l, 1, 86400);
        s.timeout_line = l.number;
    } else if (k == "MAX_FW_TIMEOUT") {
        s.range["max_client_timeout"] = number("access.conf", l, 1, 65536);
    } else if (k == "REQUIRE_SOURCE_ADDRESS" || k == "REQUIRE_SOURCE") {
        s.range["proof_ip"] = yes(l.value);
    } else if (k == "OPEN_PORTS") {
        open_ports(s, l, service_ports);
    } else if (k == "RESTRICT_PORTS") {
        for (const auto &p : split_list(l.value)) s.restricted.push_back(port_ref(s, l, p));
        s.restrict_line = l.number;
    } else if (k == "DESTINATION") {
        if (json d = destinations(s, l); !d.is_null())
            s.range["destinations"] = d;
        else
            s.range.erase("destinations");
    } else {
        return access_keyword(s, l) || cycle_keyword(s, l) || nat_keyword(s, l);
    }
    return true;
}

std::string interface_name(const std::string &given, const DaemonSettings &daemon) {
    if (given.empty()) return daemon.interface.empty() ? "eth0" : daemon.interface;
    if (const char *problem = policy::interface_name_problem(given))
        throw std::runtime_error("interface " + given + " " + problem);
    return given;
}

}  // namespace

ImportResult import_fwknop(const std::string &access_conf, const std::string &fwknopd_conf,
                           const std::string &interface) {
    DaemonSettings daemon = read_fwknopd_conf(fwknopd_conf);
    ImportResult r;
    r.warnings = daemon.warnings;
    json ranges = json::array(), services = json::array();
    std::vector<std::string> service_ports;
    Stanza s;

    for (const auto &l : read_lines(access_conf)) {
        if (l.key == "SOURCE") {
            finish_stanza(s, ranges, r);
            s = start_stanza(l, daemon, ranges.size());
            continue;
        }
        if (s.range.is_null()) fail_in("access.conf", l.number, l.key + " before the first SOURCE");
        if (stanza_keyword(s, l, service_ports) || gpg_keyword(s, l, r)) continue;
        if (harmless_to_drop(l.key)) {
            warn(r, l.number, l.key + " not carried over (xdpknock refuses command messages)");
            continue;
        }
        if (cannot_carry(l.key)) {
            // Dropping a restriction would open more than fwknopd did: refuse instead.
            refuse(s, l.number,
                   l.key +
                       " has no xdpknock equivalent; remove the stanza or the line "
                       "knowingly before importing");
        }
        warn(r, l.number, "unknown " + l.key + " ignored");
    }
    finish_stanza(s, ranges, r);
    if (ranges.empty()) throw std::runtime_error("access.conf: no SOURCE stanza");

    std::sort(service_ports.begin(), service_ports.end());
    service_ports.erase(std::unique(service_ports.begin(), service_ports.end()),
                        service_ports.end());
    for (const auto &p : service_ports) services.push_back({{"name", p}, {"port", p}});
    if (service_ports.empty()) {
        r.warnings.push_back(
            "no OPEN_PORTS: the ranges open any port; list the services the gate must hide "
            "under \"services\"");
    }
    r.config = {{"interfaces", json::array({{{"name", interface_name(interface, daemon)}}})},
                {"services", services},
                {"ranges", ranges}};
    if (daemon.x_forwarded_for) r.config["http_x_forwarded_for"] = true;
    return r;
}

// ---- key files (send / decode --key-file)

namespace {

struct KeyLines {
    std::string key, key_b64, hmac_key, hmac_key_b64, hmac_type, mode;
};

// Every line of a key file into its field; raw lines, so a key keeps its ';' and '#'.
KeyLines read_key_lines(const std::string &text, const std::string &name) {
    KeyLines k;
    std::pair<const char *, std::string *> fields[] = {{"KEY", &k.key},
                                                       {"KEY_BASE64", &k.key_b64},
                                                       {"HMAC_KEY", &k.hmac_key},
                                                       {"HMAC_KEY_BASE64", &k.hmac_key_b64},
                                                       {"HMAC_DIGEST_TYPE", &k.hmac_type},
                                                       {"ENCRYPTION_MODE", &k.mode}};
    std::istringstream in(text);
    std::string raw;
    for (int n = 1; std::getline(in, raw); ++n) {
        auto where = [&](const std::string &problem) {
            return policy::ConfigError(name + ":" + std::to_string(n) + ": " + problem);
        };
        std::istringstream words(raw);
        std::string keyword, value;
        if (!(words >> keyword) || keyword[0] == '#') continue;
        if (keyword.size() > 1 && keyword.back() == ':') keyword.pop_back();
        std::getline(words >> std::ws, value);
        while (!value.empty() && isspace(static_cast<unsigned char>(value.back())))
            value.pop_back();
        auto f = std::find_if(std::begin(fields), std::end(fields),
                              [&](const auto &x) { return keyword == x.first; });
        if (f == std::end(fields)) throw where(keyword + " does not belong in a key file");
        if (!f->second->empty()) throw where(keyword + " is given twice");
        if (value.empty()) throw where(keyword + " has no value");
        *f->second = value;
    }
    if (!k.key.empty() && !k.key_b64.empty())
        throw policy::ConfigError(name + ": give KEY or KEY_BASE64, not both");
    if (!k.hmac_key.empty() && !k.hmac_key_b64.empty()) {
        throw policy::ConfigError(name + ": give HMAC_KEY or HMAC_KEY_BASE64, not both");
    }
    if (k.key.empty() && k.key_b64.empty())
        throw policy::ConfigError(name + ": no KEY or KEY_BASE64");
    return k;
}

}  // namespace

policy::Secret parse_key_file(const std::string &text, const std::string &name,
                              const std::string &hmac_type, const std::string &mode) {
    KeyLines k = read_key_lines(text, name);
    policy::Secret s;
    s.label = name;
    if (!k.key_b64.empty() && !spa::secret_from_base64(k.key_b64, s.fko.key)) {
        throw policy::ConfigError(name + ": KEY_BASE64 is not base64");
    }
    if (!k.key.empty()) s.fko.key = spa::secret_from_passphrase(k.key);
    if (!k.hmac_key_b64.empty() && !spa::secret_from_base64(k.hmac_key_b64, s.fko.hmac_key)) {
        throw policy::ConfigError(name + ": HMAC_KEY_BASE64 is not base64");
    }
    if (!k.hmac_key.empty()) s.fko.hmac_key = spa::secret_from_passphrase(k.hmac_key);
    std::string h = lower(k.hmac_type.empty() ? hmac_type : k.hmac_type);
    std::replace(h.begin(), h.end(), '-', '_');
    auto ht = spa::parse_hmac_type(h);
    const std::string &mode_text = k.mode.empty() ? mode : k.mode;
    auto m = spa::parse_mode(lower(mode_text));
    if (!ht) throw policy::ConfigError(name + ": unknown HMAC_DIGEST_TYPE " + h);
    if (!m) throw policy::ConfigError(name + ": unknown ENCRYPTION_MODE " + mode_text);
    s.fko.hmac = s.fko.hmac_key.empty() ? spa::HmacType::none : *ht;
    s.fko.mode = *m;
    if (const char *problem = spa::secret_problem(s.fko)) {
        throw policy::ConfigError(name + ": " + problem);
    }
    return s;
}

}  // namespace xk::cli
