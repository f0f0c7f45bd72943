#include "agent/agent_config.hpp"

#include <netinet/in.h>

#include <nlohmann/json.hpp>

#include "methods/registry.hpp"
#include "policy/address.hpp"
#include "policy/config_json.hpp"
#include "policy/json_secret_fields.hpp"
#include "spa/fko_access.hpp"

namespace xk::agent {
namespace {

using nlohmann::json;
using namespace policy::config_json;

std::vector<uint16_t> tcp_ports(const std::vector<std::string> &services, const std::string &path) {
    std::vector<uint16_t> out;
    for (size_t i = 0; i < services.size(); i++) {
        std::string p = path + "[" + std::to_string(i) + "]";
        policy::PortRef ref;
        try {
            ref = policy::parse_port_ref(services[i]);
        } catch (const std::exception &e) {
            fail(p, e.what());
        }
        if (ref.proto != IPPROTO_TCP || !ref.port)
            fail(p, "only a tcp/PORT service can wait for a knock (a SYN is what is held)");
        out.push_back(ref.port);
    }
    if (out.empty()) fail(path, "name at least one service");
    return out;
}

void allow_ip(Remote &r, const std::string &text, const std::string &path) {
    if (text == "source") {
        r.allow = AllowIp::source;
    } else if (text == "any") {
        r.allow = AllowIp::any;
    } else if (uint32_t v4; spa::parse_ipv4(text, v4) && v4 != 0) {
        r.allow = AllowIp::address;
        r.allow_addr = text;
    } else if (std::array<uint8_t, 16> v6; spa::parse_ipv6(text, v6)) {
        r.allow = AllowIp::address;  // as an fko knock carries it (no IPv4-mapped spelling)
        r.allow_addr = text;
    } else {
        fail(path, "'source', 'any' or an IPv4 or IPv6 address");
    }
}

// A remote from a ~/.fwknoprc stanza: its server, services, port, keys and allow-IP.
void from_rc(Remote &r, const cli::RcSettings &rc, const std::string &path) {
    if (!rc.server) fail(path, "the stanza has no SPA_SERVER");
    if (!rc.access) fail(path, "the stanza has no ACCESS");
    if (!rc.secret) fail(path, "the stanza has no KEY or KEY_BASE64");
    r.gateway = *rc.server;
    r.tcp_ports = tcp_ports(*rc.access, path + " ACCESS");
    r.port = rc.port.value_or(r.port);
    r.secret = *rc.secret;
    r.user = rc.user.value_or(r.user);
    if (rc.allow_source) r.allow = AllowIp::any;
    if (rc.allow_ip) allow_ip(r, *rc.allow_ip, path + " ALLOW_IP");
}

// The remote's key fields as a secret of its method, labelled with the remote's name: the
// method checks them (and refuses the other method's keys) as for a daemon's range.
policy::Secret parse_secret(const json &j, const std::string &path, const Remote &r) {
    json secret = {{"label", r.name}};
    for (const char *k : {"key", "key_base64", "hmac_key", "hmac_key_base64", "hmac", "mode",
                          "secret", "secret_base64"}) {
        if (j.contains(k)) secret[k] = j.at(k);
    }
    return methods::method_of(r.method).parse_secret(policy::JsonSecretFields(secret, path));
}

uint32_t get_u32(const json &j, const std::string &path, const char *key, uint32_t fallback,
                 uint32_t lo, uint32_t hi) {
    return static_cast<uint32_t>(get_uint(j, path, key, fallback, lo, hi));
}

Remote parse_remote(const json &j, const std::string &path, const RcLoader &rc) {
    Remote r;
    r.name = get_string(j, path, "name", "", true);
    r.delay_ms = get_u32(j, path, "knock_delay_ms", 0, 0, 10000);
    r.repeat_ms = get_u32(j, path, "knock_repeat_ms", 0, 0, 3600000);
    r.timeout_s = get_u32(j, path, "knock_timeout_s", 10, 1, 86400);
    r.fresh_s = get_u32(j, path, "fresh_s", 25, 1, 86400);
    if (std::string stanza = get_string(j, path, "fwknoprc", ""); !stanza.empty()) {
        only_keys(j, path,
                  {"name", "fwknoprc", "knock_delay_ms", "knock_repeat_ms", "knock_timeout_s",
                   "fresh_s"});
        from_rc(r, rc(stanza), path + ".fwknoprc");
        return r;
    }
    only_keys(j, path,
              {"name", "gateway", "services", "method", "port", "key", "key_base64", "hmac_key",
               "hmac_key_base64", "hmac", "mode", "secret", "secret_base64", "allow_ip", "user",
               "knock_delay_ms", "knock_repeat_ms", "knock_timeout_s", "fresh_s"});
    r.gateway = get_string(j, path, "gateway", "", true);
    std::vector<std::string> services;
    for (const auto &s : get_array(j, path, "services", true)) {
        if (!s.is_string()) fail(path + ".services", "a list of \"tcp/PORT\" strings");
        services.push_back(s.get<std::string>());
    }
    r.tcp_ports = tcp_ports(services, path + ".services");
    std::string method = get_string(j, path, "method", "fko");
    if (!methods::find_method(method, r.method)) fail(path + ".method", "unknown: " + method);
    r.port = static_cast<uint16_t>(get_uint(j, path, "port", 62201, 1, 65535));
    r.secret = parse_secret(j, path, r);
    allow_ip(r, get_string(j, path, "allow_ip", "source"), path + ".allow_ip");
    r.user = get_string(j, path, "user", "root");
    return r;
}

}  // namespace

AgentConfig parse_agent_config(std::string_view text, const RcLoader &rc) {
    json root = parse_json(text, "config");
    only_keys(root, "config", {"remotes"});
    AgentConfig c;
    const json &remotes = get_array(root, "config", "remotes", true);
    for (size_t i = 0; i < remotes.size(); i++) {
        std::string path = "remotes[" + std::to_string(i) + "]";
        if (!remotes[i].is_object()) fail(path, "an object");
        c.remotes.push_back(parse_remote(remotes[i], path, rc));
    }
    if (c.remotes.empty()) fail("remotes", "name at least one remote");
    return c;
}

}  // namespace xk::agent
