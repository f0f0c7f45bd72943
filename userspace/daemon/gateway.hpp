#pragma once
// The gateway's life: start every gate and its workers, then once a second sweep expired
// grants, prune the replay journal and write stats, until SIGTERM/SIGINT; stop leaves
// every gate attached and closed.

#include <string>

#include "policy/config.hpp"

namespace xk::daemon {

struct GatewayOptions {
    std::string pin_root;
    std::string run_dir;  // stats.json
};

// Returns the process exit code: 0 after a stop signal, 1 when the start failed.
int run_gateway(const policy::Config &config, const GatewayOptions &options);

}  // namespace xk::daemon
