#pragma once
// `xdpknock agent`'s config: the remote gateways whose services this client knocks for on
// demand. JSON, in a file only its owner may read (it holds keys). Pure: text in, remotes out.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/fwknoprc.hpp"
#include "policy/config.hpp"

namespace xk::agent {

enum class AllowIp {
    source,  // the local address the route to the gateway uses (IPv4; else 0.0.0.0)
    any,     // 0.0.0.0: the gateway takes the knock's source
    address  // allow_addr
};

struct Remote {
    std::string name;
    std::string gateway;              // an address or a DNS name (resolved at start and reload)
    std::vector<uint16_t> tcp_ports;  // services whose SYNs wait for the knock
    policy::Method method = policy::Method::fko;
    uint16_t port = 62201;  // the gateway's knock port
    policy::Secret secret;  // fko keys or the plain secret
    AllowIp allow = AllowIp::source;
    std::string allow_addr;
    std::string user = "root";  // fko: the user name in the knock
    uint32_t delay_ms = 0;      // after the knock, before the held SYN goes again
    uint32_t repeat_ms = 0;     // a fresh knock every repeat_ms …
    uint32_t timeout_s = 10;    // … until this long after the first
    uint32_t fresh_s = 25;      // SYNs pass untouched this long after a knock
};

struct AgentConfig {
    std::vector<Remote> remotes;
};

// A remote's "fwknoprc": "NAME": that stanza's settings (cli/fwknoprc.hpp).
using RcLoader = std::function<cli::RcSettings(const std::string &name)>;

// Throws policy::ConfigError("remotes[1].services[0]: …") naming the key; never quotes a key.
AgentConfig parse_agent_config(std::string_view text, const RcLoader &rc);

}  // namespace xk::agent
