#pragma once
// Wake-on-LAN hosts in the config, and the services that wake them. Internal to
// policy/config*.cpp.

#include <nlohmann/json.hpp>
#include <string>

#include "policy/config.hpp"

namespace xk::policy::config_hosts {

Host parse_host(const nlohmann::json &j, const std::string &path);
// A service's optional "host" (and "address"): which sleeping host its SYNs wake.
void parse_service_host(const nlohmann::json &j, const std::string &path, const Config &c,
                        Service &s);

}  // namespace xk::policy::config_hosts
