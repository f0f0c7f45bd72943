#pragma once
// `xdpknock send`: one knock datagram to a gateway, plain or fko; the settings from the
// flags, fwknop's spellings of them, or a ~/.fwknoprc stanza (-n NAME).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cli/fko_key_flags.hpp"

namespace xk::cli {

struct SendFlags {
    std::string host, destination;  // the argument, or fwknop's -D
    std::string method = "plain", secret, secret_b64;
    std::string
        secret_file;    // plain: the secret's bytes (one trailing newline dropped); "-": stdin
    uint16_t port = 0;  // 0: the range's port, else 62201
    // fko
    FkoKeyFlags keys;
    std::vector<std::string> access{"tcp/22"};
    std::string allow_ip, user = "root", digest = "sha256";
    bool any_source = false;
    uint32_t client_timeout = 0;
    std::string rc_name, rc_file, server_proto = "udp";  // -n, --rc-file, fwknop's -P
    bool key_gen = false;                                // fwknop's --key-gen: print keys only
    // Desomnia's knockDelay / knockRepeat / knockTimeout: wait after the knock; send a fresh
    // one every repeat_ms until timeout_s has passed since the first.
    uint32_t delay_ms = 0, repeat_ms = 0, timeout_s = 10;
    const CLI::App *app = nullptr;  // what the command line gave beats the stanza

    void add_to(CLI::App &app);
    bool given(const char *flag) const { return app && app->count(flag) > 0; }
};

int run_send(const SendFlags &flags);

}  // namespace xk::cli
