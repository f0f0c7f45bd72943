#pragma once
// fwknop's own key flags (--key-rijndael, --key-base64-hmac, -M …), or a range of an
// xdpknock config, turned into the secrets `send` and `decode` use.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "policy/config.hpp"

namespace xk::cli {

struct FkoKeyFlags {
    std::string key, key_b64, hmac_key, hmac_key_b64, hmac_type = "sha256", mode = "cbc";
    std::string config_path, range;

    void add_to(CLI::App &app);
    // The secrets to try, in order, with their labels. Throws CLI::ValidationError or
    // policy::ConfigError naming the problem. Sets port from the range when one is used.
    std::vector<policy::Secret> secrets(uint16_t *port = nullptr) const;
};

}  // namespace xk::cli
