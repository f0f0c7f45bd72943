#pragma once
// Fills the gate's ports map from the config: knock ports and protected services.

#include "policy/config.hpp"

namespace xk::gate {

// Rewrites every entry, so ports dropped from the config stop being gated on restart.
void write_ports(int ports_fd, const policy::Config &config);

}  // namespace xk::gate
