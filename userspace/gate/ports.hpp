#pragma once
// Fills the gate's ports map from the config: knock ports with their pre-filter,
// protected services, and sequence steps (gate/sequences.hpp fills their tables).

#include <utility>
#include <vector>

#include "policy/config.hpp"
#include "xdpknock/maps.h"

namespace xk::gate {

// One entry per port number (XK_PORTS_MAX): flags, and for knock ports the payload shapes their
// ranges accept and the per-source rate. Pure, so tests can check it without BPF.
std::vector<xk_port> port_table(const policy::Config &config);

// Rewrites every entry, so ports and filters dropped from the config stop applying on
// restart (the pinned map is reused).
void write_ports(int ports_fd, const policy::Config &config);

// wake_targets entries: services bound to one destination address -> wake host id.
std::vector<std::pair<xk_wake_target, uint32_t>> wake_target_table(const policy::Config &config);
void write_wake_targets(int wake_targets_fd, const policy::Config &config);

}  // namespace xk::gate
