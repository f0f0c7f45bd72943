#pragma once
// stats.json back into a snapshot, so `xdpknock status` renders the daemon's numbers with
// the same printers as its own. The inverse of to_json: every field it writes is read.

#include <optional>
#include <string_view>

#include "stats/snapshot.hpp"

namespace xk::stats {

// std::nullopt when the text is not a snapshot (half a file, another program's JSON).
std::optional<Snapshot> from_json(std::string_view text);

}  // namespace xk::stats
