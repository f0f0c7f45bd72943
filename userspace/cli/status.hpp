#pragma once
// `xdpknock status`: the gate as the pinned maps and the daemon's stats file show it.

#include <string>

namespace xk::cli {

int run_status(const std::string &pin_root, const std::string &run_dir, bool json);

}  // namespace xk::cli
