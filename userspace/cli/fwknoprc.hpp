#pragma once
// fwknop's client file (~/.fwknoprc): a [default] stanza and named ones, "KEYWORD value"
// lines. `xdpknock send -n NAME` (and the agent) take a stanza's settings from it, the
// named stanza over [default], as `fwknop -n NAME` does. Pure: text in, settings out.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/config.hpp"

namespace xk::cli {

// What a stanza sets; unset fields keep the command line's or the built-in default.
struct RcSettings {
    std::optional<std::string> server;               // SPA_SERVER
    std::optional<uint16_t> port;                    // SPA_SERVER_PORT
    std::optional<std::string> allow_ip;             // ALLOW_IP ADDR
    bool allow_source = false;                       // ALLOW_IP source: 0.0.0.0 in the packet
    std::optional<std::vector<std::string>> access;  // ACCESS tcp/22,udp/53
    std::optional<std::string> user;                 // SPOOF_USER
    std::optional<std::string> digest;               // DIGEST_TYPE, lower case
    std::optional<uint32_t> client_timeout;          // FW_TIMEOUT (or CLIENT_TIMEOUT)
    std::optional<policy::Secret> secret;            // KEY*/HMAC_*/ENCRYPTION_MODE, USE_HMAC
};

// The stanza `name` of the file text (read from `file`, which only names it in errors).
// Refuses, with policy::ConfigError("FILE:LINE: …") naming the keyword and never quoting a
// key: a missing stanza, an unknown keyword, a keyword twice in one stanza, and settings
// xdpknock cannot honour (a protocol other than udp, GPG, NAT access, a resolved or
// spoofed address, …) rather than sending a knock other than the one asked for.
RcSettings parse_fwknoprc(const std::string &text, const std::string &file,
                          const std::string &name);

// $HOME/.fwknoprc (the passwd entry's home without $HOME).
std::string default_fwknoprc_path();

}  // namespace xk::cli
