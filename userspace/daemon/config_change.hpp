#pragma once
// What a reload may change in place and what it may not: the keys fixed for the daemon's
// life (the gates, their maps' sizes, the workers) against everything the next knock reads.
// Pure, so the rules are tested without a gateway.

#include <cstdint>
#include <string>
#include <vector>

#include "log/log.hpp"
#include "policy/config.hpp"

namespace xk::daemon {

// The first key whose change needs a restart, as the config error would name it
// ("config.workers", "interfaces[0].xdp_mode", "ranges[2].proof_time", ...), or "" when
// `next` can replace `running` in place. replay_retention_s: how long the running replay
// cache keeps a digest; a range that needs longer would reopen a replay window.
std::string restart_key(const policy::Config &running, const policy::Config &next,
                        int64_t replay_retention_s);

// False when the wake service reads something that changed (hosts, the services that name
// them, the range names and secret labels it logs): it is then rebuilt.
bool same_wake_inputs(const policy::Config &a, const policy::Config &b);

// Services of `running` whose port `next` no longer protects.
std::vector<policy::Service> unprotected_services(const policy::Config &running,
                                                  const policy::Config &next);

// The config's log_level, unless the daemon was started with -v.
log::Level log_level_of(const policy::Config &config, bool verbose);

}  // namespace xk::daemon
