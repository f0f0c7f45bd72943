#pragma once
// The Lua scripts a gateway runs in Redis: each grant or revoke is stored and appended to the
// events stream in one atomic step, so the stream's order is the order Redis applied them in.

#include <string>
#include <vector>

#include "cluster/cluster_event.hpp"

namespace xk::cluster {

// How long Redis keeps a revoke's mark: the longest a grant can last.
inline constexpr uint32_t kRevokeMarkSeconds = kMaxGrantSeconds + 60;
inline constexpr size_t kStreamMaxLen = 100000;

// EVAL argv that stores e (from node) and appends it to the stream.
std::vector<std::string> event_command(const Event &e, const std::string &node,
                                       const std::string &prefix);

}  // namespace xk::cluster
