#pragma once
// `xdpknockd --pcap FILE --dry-run [--workers N]`: a capture through the daemon's own knock
// handler and policy, each knock judged as of its capture time; authorizations printed, not
// written. With N workers the knocks are judged on N threads, each with its own KnockPolicy
// and KnockHandler as a live worker has, over one shared replay cache; the output and the
// counters are those of one worker, byte for byte (pcap_replay.cpp says how).

#include <cstdio>
#include <string>

#include "policy/config.hpp"

namespace xk::daemon {

struct PcapReplayOptions {
    std::string path;
    bool quiet = false;    // summary only (benchmarks)
    unsigned workers = 1;  // threads judging knocks (the caller's thread is one of them)
    FILE *out = stdout;    // where the JSON lines go
};

// One JSON line per knock, then a summary line. Returns 0, or 1 on a bad capture.
int replay_pcap(const policy::Config &config, const PcapReplayOptions &options);

}  // namespace xk::daemon
