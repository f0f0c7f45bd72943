#include "cli/import_fwknop.hpp"

#include <algorithm>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "policy/config.hpp"

namespace xk::cli {
namespace {

using nlohmann::json;

struct Line {
    int number;
    std::string key, value;
};

// "KEY  value…" lines; '#' comments and blank lines skipped; the value may hold spaces.
std::vector<Line> read_lines(const std::string &text) {
    std::vector<Line> out;
    std::istringstream in(text);
    std::string raw;
    for (int n = 1; std::getline(in, raw); ++n) {
        std::istringstream fields(raw);
        Line l{n, "", ""};
        // '#' starts a comment only as the first word, as in fwknopd: keys may contain it.
        if (!(fields >> l.key) || l.key[0] == '#') continue;
        std::getline(fields >> std::ws, l.value);
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

[[noreturn]] void fail(int line, const std::string &problem) {
    throw std::runtime_error("access.conf:" + std::to_string(line) + ": " + problem);
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
    for (auto l : read_lines(text)) {
        if (!l.value.empty() && l.value.back() == ';') l.value.pop_back();  // fwknopd.conf style
        if (l.key == "PCAP_INTF") d.interface = l.value;
        if (l.key == "MAX_SPA_PACKET_AGE")
            d.proof_time = static_cast<uint32_t>(std::stoul(l.value));
        if (l.key == "ENABLE_SPA_PACKET_AGING") aging = yes(l.value);
        std::smatch m;
        static const std::regex port_re(R"(udp\s+(?:dst\s+)?port\s+(\d+))");
        if (l.key == "PCAP_FILTER" && std::regex_search(l.value, m, port_re)) {
            d.port = static_cast<uint16_t>(std::stoul(m[1]));
        }
    }
    if (!aging) d.proof_time = 0;
    return d;
}

}  // namespace

ImportResult import_fwknop(const std::string &access_conf, const std::string &fwknopd_conf,
                           const std::string &interface) {
    DaemonSettings daemon = read_fwknopd_conf(fwknopd_conf);
    ImportResult r;
    json ranges = json::array(), services = json::array();
    std::vector<std::string> tcp_ports;
    json range, secret;
    int stanza_line = 0;

    auto finish = [&] {
        if (range.is_null()) return;
        if (!secret.contains("key") && !secret.contains("key_base64")) {
            fail(stanza_line, "stanza has no KEY or KEY_BASE64 (GPG stanzas are not supported)");
        }
        if ((secret.contains("hmac_key") || secret.contains("hmac_key_base64")) &&
            !secret.contains("hmac")) {
            secret["hmac"] = "sha256";  // fwknopd's default with an HMAC key
        }
        secret["label"] = "access.conf:" + std::to_string(stanza_line);
        range["secrets"] = json::array({secret});
        if (!range.contains("open")) range["open"] = json::array({"*"});  // fwknopd: any port
        ranges.push_back(range);
        range = json();
        secret = json::object();
    };

    for (const auto &l : read_lines(access_conf)) {
        if (l.key == "SOURCE") {
            finish();
            stanza_line = l.number;
            range = {{"name", "fwknop-" + std::to_string(ranges.size() + 1)},
                     {"method", "fko"},
                     {"port", daemon.port},
                     {"proof_time", daemon.proof_time},
                     {"timeout", 30}};
            json sources = json::array();
            for (const auto &s : split_list(l.value)) {
                if (s == "ANY") {
                    sources = {"0.0.0.0/0", "::/0"};
                    break;
                }
                if (!policy::parse_cidr(s))
                    fail(l.number, "SOURCE " + s + " is not an address or CIDR");
                sources.push_back(s);
            }
            range["sources"] = sources;
            continue;
        }
        if (range.is_null()) fail(l.number, l.key + " before the first SOURCE");
        if (l.key == "KEY") {
            secret["key"] = l.value;
        } else if (l.key == "KEY_BASE64") {
            secret["key_base64"] = l.value;
        } else if (l.key == "HMAC_KEY") {
            secret["hmac_key"] = l.value;
        } else if (l.key == "HMAC_KEY_BASE64") {
            secret["hmac_key_base64"] = l.value;
        } else if (l.key == "HMAC_DIGEST_TYPE") {
            std::string h = lower(l.value);
            std::replace(h.begin(), h.end(), '-', '_');
            secret["hmac"] = h;
        } else if (l.key == "ENCRYPTION_MODE") {
            secret["mode"] = lower(l.value);
        } else if (l.key == "FW_ACCESS_TIMEOUT") {
            range["timeout"] = std::stoul(l.value);
        } else if (l.key == "MAX_FW_TIMEOUT") {
            range["max_client_timeout"] = std::stoul(l.value);
        } else if (l.key == "REQUIRE_SOURCE_ADDRESS") {
            range["proof_ip"] = yes(l.value);
        } else if (l.key == "OPEN_PORTS") {
            json open = json::array();
            for (const auto &p : split_list(l.value)) {
                policy::PortRef ref;
                try {
                    ref = policy::parse_port_ref(p);
                } catch (const policy::ConfigError &e) {
                    fail(l.number, "OPEN_PORTS " + p + ": " + e.what());
                }
                if (ref.proto != 6) {  // the gate holds back TCP SYNs; UDP is never gated
                    r.warnings.push_back("access.conf:" + std::to_string(l.number) + ": " + p +
                                         " not carried over (xdpknock gates TCP services only)");
                    continue;
                }
                open.push_back(policy::format_port(ref));
                tcp_ports.push_back(policy::format_port(ref));
            }
            if (open.empty())
                fail(l.number, "OPEN_PORTS lists no TCP port (xdpknock gates TCP only)");
            range["open"] = open;
        } else if (l.key == "REQUIRE_USERNAME" || l.key.rfind("ACCESS_EXPIRE", 0) == 0 ||
                   l.key == "FORCE_NAT" || l.key == "FORCE_SNAT" || l.key == "FORCE_MASQUERADE") {
            // Dropping a restriction would open more than fwknopd did: refuse instead.
            fail(l.number, l.key +
                               " has no xdpknock equivalent; remove the stanza or the line "
                               "knowingly before importing");
        } else if (l.key == "ENABLE_CMD_EXEC" || l.key == "CMD_EXEC_USER" ||
                   l.key.rfind("GPG_", 0) == 0) {
            r.warnings.push_back("access.conf:" + std::to_string(l.number) + ": " + l.key +
                                 " not carried over (xdpknock never runs commands and has no "
                                 "GPG)");
        } else {
            r.warnings.push_back("access.conf:" + std::to_string(l.number) + ": unknown " + l.key +
                                 " ignored");
        }
    }
    finish();
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

}  // namespace xk::cli
