#include "policy/config_hosts.hpp"

#include <array>
#include <charconv>
#include <optional>

#include "policy/config_json.hpp"
#include "xdpknock/maps.h"

namespace xk::policy::config_hosts {
namespace {

using namespace config_json;

std::optional<std::array<uint8_t, 6>> parse_mac(const std::string &text) {
    std::array<uint8_t, 6> mac{};
    if (text.size() != 17) return std::nullopt;
    for (size_t i = 0; i < 6; ++i) {
        const char *at = text.data() + i * 3;
        if (i < 5 && at[2] != ':' && at[2] != '-') return std::nullopt;
        auto [end, ec] = std::from_chars(at, at + 2, mac[i], 16);
        if (ec != std::errc() || end != at + 2) return std::nullopt;
    }
    return mac;
}

std::optional<Address> host_address(const json &j, const std::string &path, const char *key,
                                    bool want_v4) {
    if (!j.contains(key)) return std::nullopt;
    auto a = parse_address(get_string(j, path, key, ""));
    if (!a || a->is_v4() != want_v4) {
        fail(path + "." + key, want_v4 ? "must be an IPv4 address" : "must be an IPv6 address");
    }
    return a;
}

}  // namespace

Host parse_host(const json &j, const std::string &path) {
    only_keys(j, path, {"name", "mac", "ipv4", "ipv6", "interface", "wake"});
    Host h;
    h.name = get_string(j, path, "name", "", true);
    std::string mac = get_string(j, path, "mac", "", true);
    auto parsed = parse_mac(mac);
    if (!parsed) fail(path + ".mac", "must be a MAC address like 02:00:5e:10:00:01");
    // Group or all-zero MACs are no NIC's own: a magic packet for them wakes nothing.
    if (((*parsed)[0] & 1) || *parsed == std::array<uint8_t, 6>{}) {
        fail(path + ".mac", "must be a unicast MAC, not " + mac);
    }
    h.mac = *parsed;
    h.ipv4 = host_address(j, path, "ipv4", true);
    h.ipv6 = host_address(j, path, "ipv6", false);
    if (!h.ipv4 && !h.ipv6) fail(path + ".ipv4", "missing (or ipv6): the liveness probe needs one");
    h.interface = get_string(j, path, "interface", "", true);
    if (const char *problem = interface_name_problem(h.interface))
        fail(path + ".interface", problem);
    if (!j.contains("wake")) return h;
    const json &w = j.at("wake");
    const std::string wp = path + ".wake";
    only_keys(w, wp, {"type", "port", "repeat_ms", "timeout_s"});
    std::string type = get_string(w, wp, "type", "link");
    if (type == "link") {
        h.wake_type = WakeType::link;
    } else if (type == "network") {
        h.wake_type = WakeType::network;
        if (!h.ipv4) fail(wp + ".type", "network (UDP broadcast) needs the host's ipv4");
    } else if (type == "unicast") {
        h.wake_type = WakeType::unicast;
    } else {
        fail(wp + ".type", "must be link, network or unicast");
    }
    if (w.contains("port") && h.wake_type == WakeType::link) {
        fail(wp + ".port", "only UDP wake types (network, unicast) use a port");
    }
    h.wake_port = static_cast<uint16_t>(get_uint(w, wp, "port", h.wake_port, 1, 65535));
    h.repeat_ms = static_cast<uint32_t>(get_uint(w, wp, "repeat_ms", h.repeat_ms, 10, 60000));
    h.timeout_s = static_cast<uint32_t>(get_uint(w, wp, "timeout_s", h.timeout_s, 1, 3600));
    return h;
}

// A service's optional "host" (and "address"): which sleeping host its SYNs wake.
void parse_service_host(const json &j, const std::string &path, const Config &c, Service &s) {
    if (j.contains("host")) {
        std::string name = get_string(j, path, "host", "");
        auto it = std::find_if(c.hosts.begin(), c.hosts.end(),
                               [&](const Host &h) { return h.name == name; });
        if (it == c.hosts.end()) fail(path + ".host", "no host named \"" + name + "\" in hosts");
        s.host = static_cast<int>(it - c.hosts.begin());
    }
    if (j.contains("address")) {
        if (s.host < 0) fail(path + ".address", "only selects a wake host: give host too");
        s.address = parse_address(get_string(j, path, "address", ""));
        if (!s.address) fail(path + ".address", "must be an IPv4 or IPv6 address");
    }
    if (s.host < 0) return;
    for (size_t k = 0; k < c.services.size(); ++k) {
        const Service &o = c.services[k];
        if (o.host >= 0 && o.port == s.port && o.address == s.address && o.host != s.host) {
            fail(path + ".host", format_port(s.port) + " already wakes host \"" +
                                     c.hosts[o.host].name + "\" (services[" + std::to_string(k) +
                                     "])");
        }
    }
}

}  // namespace xk::policy::config_hosts
