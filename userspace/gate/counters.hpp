#pragma once
// The XDP program's per-CPU decision counters, summed, with the names status prints.

#include <array>
#include <cstdint>

#include "xdpknock/maps.h"

namespace xk::gate {

using Counters = std::array<uint64_t, XK_CNT__MAX>;

const char *counter_name(unsigned which);
Counters read_counters(int counters_fd);

}  // namespace xk::gate
