#pragma once
// fwknop's own key flags (--key-rijndael, --key-base64-hmac, -M …), a key file, or a range
// of an xdpknock config, turned into the secrets `send` and `decode` use.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "policy/config.hpp"

namespace xk::cli {

struct FkoKeyFlags {
    std::string key, key_b64, hmac_key, hmac_key_b64, hmac_type = "sha256", mode = "cbc";
    std::string key_file;  // fwknop key lines (cli::parse_key_file); "-": stdin
    std::string config_path, range;

    void add_to(CLI::App &app);
    // The secrets to try, in order, with their labels. Throws CLI::ValidationError or
    // policy::ConfigError naming the problem. Sets port from the range when one is used.
    // Warns on stderr when a key came as an argument: every local user can read those.
    std::vector<policy::Secret> secrets(uint16_t *port = nullptr) const;
};

// A secret given by file, never on the command line: "-" reads stdin to its end; a file
// must be private like the daemon's config (policy::read_secret_file). Throws ConfigError.
std::string read_secret_input(const std::string &path);

// The warning for a secret given as an argument (visible in ps and /proc/PID/cmdline).
void warn_secret_argument(const char *flag, const char *instead);

}  // namespace xk::cli
