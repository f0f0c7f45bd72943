#pragma once
// The gateway's life: start every gate and its workers, then once a second sweep expired
// grants, prune the replay journal and write stats, until SIGTERM/SIGINT; SIGHUP re-reads
// the config in place (daemon/config_change says what may change); stop leaves every gate
// attached and closed.

#include <string>

#include "policy/config.hpp"

namespace xk::daemon {

struct GatewayOptions {
    std::string pin_root;
    std::string run_dir;      // stats.json, xdpknockd.pid, reload.status
    std::string config_path;  // what SIGHUP reads again; "" refuses every reload
    bool verbose = false;     // -v: debug logging whatever log_level a reload brings
    // xdpknock_build_info on the metrics endpoint (from xdpknock/version.h: only the mains
    // include it, so a new commit rebuilds them alone).
    std::string version, commit;
};

// Files in run_dir the CLI reads: the daemon's pid (for `xdpknock reload`'s SIGHUP) and
// the last reload's outcome, one line "<pid> <serial> ok|refused <message>".
inline constexpr const char *kPidFile = "xdpknockd.pid";
inline constexpr const char *kReloadStatusFile = "reload.status";

// Returns the process exit code: 0 after a stop signal, 1 when the start failed.
int run_gateway(const policy::Config &config, const GatewayOptions &options);

}  // namespace xk::daemon
