#pragma once
// The snapshot as the table `xdpknock status` prints: one block per interface (counters,
// queues, workers, authorizations), then the wake hosts. Read by people in one glance.

#include <string>

#include "stats/snapshot.hpp"

namespace xk::stats {

std::string to_table(const Snapshot &s);

}  // namespace xk::stats
