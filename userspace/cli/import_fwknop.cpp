#include "cli/import_fwknop.hpp"

#include <algorithm>
#include <charconv>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "policy/config.hpp"
#include "spa/fko_secret.hpp"
#include "spa/fko_types.hpp"

namespace xk::cli {
namespace {

using nlohmann::json;

struct Line {
    int number;
    std::string key, value;
};

// "KEY  value…" lines; '#' comments and blank lines skipped; the value may hold spaces.
// As fwknopd reads them: a ':' ending the keyword is dropped, and ';' ends the value.
std::vector<Line> read_lines(const std::string &text) {
    std::vector<Line> out;
    std::istringstream in(text);
    std::string raw;
    for (int n = 1; std::getline(in, raw); ++n) {
        std::istringstream fields(raw);
        Line l{n, "", ""};
        // '#' starts a comment only as the first word, as in fwknopd: keys may contain it.
        if (!(fields >> l.key) || l.key[0] == '#' || l.key[0] == ';') continue;
        if (l.key.size() > 1 && l.key.back() == ':') l.key.pop_back();
        std::getline(fields >> std::ws, l.value);
        l.value = l.value.substr(0, l.value.find(';'));
        while (!l.value.empty() && isspace(static_cast<unsigned char>(l.value.back()))) {
            l.value.pop_back();
        }
        out.push_back(l);
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

// fwknopd.conf settings that shape every range.
struct DaemonSettings {
    uint16_t port = 62201;
    uint32_t proof_time = 120;
    std::string interface;
};

DaemonSettings read_fwknopd_conf(const std::string &text) {
    DaemonSettings d;
    bool aging = true;
    for (const auto &l : read_lines(text)) {
        if (l.key == "PCAP_INTF") d.interface = l.value;
        // 0 would switch the window off here: only ENABLE_SPA_PACKET_AGING N does that.
        if (l.key == "MAX_SPA_PACKET_AGE") d.proof_time = number("fwknopd.conf", l, 1, 86400);
        if (l.key == "ENABLE_SPA_PACKET_AGING") aging = yes(l.value);
        std::smatch m;
        static const std::regex port_re(R"(udp\s+(?:dst\s+)?port\s+(\d+))");
        if (l.key == "PCAP_FILTER" && std::regex_search(l.value, m, port_re)) {
            Line port{l.number, "PCAP_FILTER port", m[1]};
            d.port = static_cast<uint16_t>(number("fwknopd.conf", port, 1, 65535));
        }
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
};

[[noreturn]] void refuse(const Stanza &s, int line, const std::string &problem) {
    fail_in("access.conf", line,
            problem + " (stanza SOURCE " + s.source + " at line " + std::to_string(s.line) + ")");
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
    s.range = {{"name", "fwknop-" + std::to_string(index + 1)},
               {"method", "fko"},
               {"port", daemon.port},
               {"proof_time", daemon.proof_time},
               {"timeout", 30}};
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

// OPEN_PORTS: the TCP ports the stanza opens (the gate holds TCP only; UDP is never gated).
void open_ports(Stanza &s, const Line &l, ImportResult &r, std::vector<std::string> &tcp_ports) {
    json open = json::array();
    for (const auto &p : split_list(l.value)) {
        policy::PortRef ref = port_ref(s, l, p);
        if (ref.proto != 6) {
            r.warnings.push_back("access.conf:" + std::to_string(l.number) + ": " + p +
                                 " not carried over (xdpknock gates TCP services only)");
            continue;
        }
        open.push_back(policy::format_port(ref));
        tcp_ports.push_back(policy::format_port(ref));
    }
    if (open.empty()) refuse(s, l.number, "OPEN_PORTS lists no TCP port (xdpknock gates TCP only)");
    s.range["open"] = open;
}

// RESTRICT_PORTS: ports never opened even when asked for. Carried by leaving them out of
// "open"; fwknopd's "any port but these" has no xdpknock form, so it is refused.
void apply_restrictions(Stanza &s) {
    if (!s.range.contains("open")) {
        bool any_tcp = std::any_of(s.restricted.begin(), s.restricted.end(),
                                   [](const policy::PortRef &p) { return p.proto == 6; });
        if (any_tcp) {
            refuse(s, s.restrict_line,
                   "RESTRICT_PORTS without OPEN_PORTS means \"every port but these\", which "
                   "xdpknock cannot say: list the ports this stanza may open in OPEN_PORTS");
        }
        s.range["open"] = json::array({"*"});  // fwknopd: any port; UDP is never gated
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

void finish_stanza(Stanza &s, json &ranges) {
    if (s.range.is_null()) return;
    json &secret = s.secret;
    if (!secret.contains("key") && !secret.contains("key_base64")) {
        refuse(s, s.line, "stanza has no KEY or KEY_BASE64 (GPG stanzas are not supported)");
    }
    if ((secret.contains("hmac_key") || secret.contains("hmac_key_base64")) &&
        !secret.contains("hmac")) {
        secret["hmac"] = "sha256";  // fwknopd's default with an HMAC key
    }
    secret["label"] = "access.conf:" + std::to_string(s.line);
    s.range["secrets"] = json::array({secret});
    apply_restrictions(s);
    ranges.push_back(s.range);
    s = Stanza{};
}

// Keywords that would open more (or something else) than fwknopd did if dropped.
bool cannot_carry(const std::string &key) {
    static const char *const kRefused[] = {"REQUIRE_USERNAME", "FORCE_NAT",       "FORCE_SNAT",
                                           "FORCE_MASQUERADE", "DISABLE_DNAT",    "FORWARD_ALL",
                                           "CMD_CYCLE_OPEN",   "CMD_CYCLE_CLOSE", "CMD_CYCLE_TIMER",
                                           "SERVICE_LIST",     "%include",        "%include_folder",
                                           "%include_keys"};
    return key.rfind("ACCESS_EXPIRE", 0) == 0 ||
           std::any_of(std::begin(kRefused), std::end(kRefused),
                       [&](const char *k) { return key == k; });
}

// Keywords whose loss closes more, never opens: xdpknock never runs commands and has no GPG.
bool harmless_to_drop(const std::string &key) {
    return key == "ENABLE_CMD_EXEC" || key == "ENABLE_CMD_SUDO_EXEC" ||
           key.rfind("CMD_EXEC_", 0) == 0 || key.rfind("CMD_SUDO_EXEC_", 0) == 0 ||
           key.rfind("GPG_", 0) == 0;
}

void set_secret(Stanza &s, const Line &l) {
    if (l.value == "__CHANGEME__") refuse(s, l.number, l.key + " is still __CHANGEME__");
    static const std::pair<const char *, const char *> kNames[] = {
        {"KEY", "key"},
        {"KEY_BASE64", "key_base64"},
        {"HMAC_KEY", "hmac_key"},
        {"HMAC_KEY_BASE64", "hmac_key_base64"}};
    for (const auto &[from, to] : kNames) {
        if (l.key == from) s.secret[to] = l.value;
    }
}

// One keyword inside a stanza; false when it is not a stanza keyword at all.
bool stanza_keyword(Stanza &s, const Line &l, ImportResult &r,
                    std::vector<std::string> &tcp_ports) {
    const std::string &k = l.key;
    if (k == "KEY" || k == "KEY_BASE64" || k == "HMAC_KEY" || k == "HMAC_KEY_BASE64") {
        set_secret(s, l);
    } else if (k == "HMAC_DIGEST_TYPE") {
        std::string h = lower(l.value);
        std::replace(h.begin(), h.end(), '-', '_');
        s.secret["hmac"] = h;
    } else if (k == "ENCRYPTION_MODE") {
        s.secret["mode"] = lower(l.value);
    } else if (k == "FW_ACCESS_TIMEOUT") {
        s.range["timeout"] = number("access.conf", l, 1, 86400);
    } else if (k == "MAX_FW_TIMEOUT") {
        s.range["max_client_timeout"] = number("access.conf", l, 1, 65536);
    } else if (k == "REQUIRE_SOURCE_ADDRESS" || k == "REQUIRE_SOURCE") {
        s.range["proof_ip"] = yes(l.value);
    } else if (k == "OPEN_PORTS") {
        open_ports(s, l, r, tcp_ports);
    } else if (k == "RESTRICT_PORTS") {
        for (const auto &p : split_list(l.value)) s.restricted.push_back(port_ref(s, l, p));
        s.restrict_line = l.number;
    } else if (k == "DESTINATION") {
        // Knocks are taken on every address of the interface: only "any" carries over.
        if (l.value != "ANY" && l.value != "0.0.0.0/0" && l.value != "::/0") {
            refuse(s, l.number,
                   "DESTINATION " + l.value +
                       " has no xdpknock equivalent (knocks count on every address of the "
                       "interface); remove the line knowingly before importing");
        }
    } else {
        return false;
    }
    return true;
}

}  // namespace

ImportResult import_fwknop(const std::string &access_conf, const std::string &fwknopd_conf,
                           const std::string &interface) {
    DaemonSettings daemon = read_fwknopd_conf(fwknopd_conf);
    ImportResult r;
    json ranges = json::array(), services = json::array();
    std::vector<std::string> tcp_ports;
    Stanza s;

    for (const auto &l : read_lines(access_conf)) {
        if (l.key == "SOURCE") {
            finish_stanza(s, ranges);
            s = start_stanza(l, daemon, ranges.size());
            continue;
        }
        if (s.range.is_null()) fail_in("access.conf", l.number, l.key + " before the first SOURCE");
        if (stanza_keyword(s, l, r, tcp_ports)) continue;
        if (harmless_to_drop(l.key)) {
            r.warnings.push_back("access.conf:" + std::to_string(l.number) + ": " + l.key +
                                 " not carried over (xdpknock never runs commands and has no "
                                 "GPG)");
            continue;
        }
        if (cannot_carry(l.key)) {
            // Dropping a restriction would open more than fwknopd did: refuse instead.
            refuse(s, l.number,
                   l.key +
                       " has no xdpknock equivalent; remove the stanza or the line "
                       "knowingly before importing");
        }
        r.warnings.push_back("access.conf:" + std::to_string(l.number) + ": unknown " + l.key +
                             " ignored");
    }
    finish_stanza(s, ranges);
    if (ranges.empty()) throw std::runtime_error("access.conf: no SOURCE stanza");

    std::sort(tcp_ports.begin(), tcp_ports.end());
    tcp_ports.erase(std::unique(tcp_ports.begin(), tcp_ports.end()), tcp_ports.end());
    for (const auto &p : tcp_ports) services.push_back({{"name", p}, {"port", p}});
    if (tcp_ports.empty()) {
        r.warnings.push_back(
            "no OPEN_PORTS: the ranges open any port; list the TCP services the "
            "gate must hide under \"services\"");
    }
    std::string ifname = !interface.empty() ? interface : daemon.interface;
    if (ifname.empty()) ifname = "eth0";
    r.config = {{"interfaces", json::array({{{"name", ifname}}})},
                {"services", services},
                {"ranges", ranges}};
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
