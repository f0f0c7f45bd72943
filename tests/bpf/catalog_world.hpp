// The catalog world (gate_frames.hpp) as the daemon would be configured for it: knock
// ranges, protected services and wake hosts, parsed from JSON like a config file.
#pragma once

#include <string>

#include "policy/config.hpp"

namespace xk::test {

// The interface name in it; LoadedGate uses its own (fake) names, never looked up.
inline constexpr const char *kCatalogIfname = "xktest0";

std::string catalogConfigJson();
policy::Config catalogConfig();  // throws policy::ConfigError

}  // namespace xk::test
