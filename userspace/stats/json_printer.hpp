#pragma once
// The snapshot as JSON: stats.json (compact, one line) and `xdpknock status --json`
// (indented). Fields a snapshot does not hold (std::nullopt, "") are left out.

#include <string>

#include "stats/snapshot.hpp"

namespace xk::stats {

// indent < 0: one line.
std::string to_json(const Snapshot &s, int indent = -1);

}  // namespace xk::stats
