#pragma once
// `xdpknock decode`: what the codec makes of packets, for diagnosing a failing client.

#include <string>
#include <vector>

#include "policy/config.hpp"

namespace xk::cli {

// One JSON object per packet on stdout; packets from the list, else one per stdin line.
// Returns 0 when every packet decoded, 1 otherwise.
int run_decode(const std::vector<policy::Secret> &secrets, std::vector<std::string> packets,
               bool time_check, int proof_time_s);

}  // namespace xk::cli
