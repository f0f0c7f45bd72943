#pragma once
// `xdpknock send`: one knock datagram to a gateway, plain or fko.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cli/fko_key_flags.hpp"

namespace xk::cli {

struct SendFlags {
    std::string host, method = "plain", secret, secret_b64;
    std::string
        secret_file;    // plain: the secret's bytes (one trailing newline dropped); "-": stdin
    uint16_t port = 0;  // 0: the range's port, else 62201
    // fko
    FkoKeyFlags keys;
    std::vector<std::string> access{"tcp/22"};
    std::string allow_ip, user = "root", digest = "sha256";
    bool any_source = false;
    uint32_t client_timeout = 0;

    void add_to(CLI::App &app);
};

int run_send(const SendFlags &flags);

// Sends payload to host:port over UDP (IPv4 or IPv6, names resolved). Returns 0 or errno.
int send_knock(const std::string &host, uint16_t port, std::span<const uint8_t> payload,
               std::string &error);

}  // namespace xk::cli
