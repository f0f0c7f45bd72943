#pragma once
// `xdpknockd --pcap FILE --dry-run`: a capture through the daemon's own knock handler and
// policy, each knock judged as of its capture time; authorizations printed, not written.

#include <string>

#include "policy/config.hpp"

namespace xk::daemon {

struct PcapReplayOptions {
    std::string path;
    bool quiet = false;  // summary only (benchmarks)
};

// One JSON line per knock on stdout, then a summary line. Returns 0, or 1 on a bad capture.
int replay_pcap(const policy::Config &config, const PcapReplayOptions &options);

}  // namespace xk::daemon
