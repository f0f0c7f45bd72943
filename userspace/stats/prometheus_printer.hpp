#pragma once
// The snapshot in the Prometheus text exposition format 0.0.4, for the daemon's metrics
// endpoint. Label values are names from the config (interfaces, ranges, secret labels,
// wake hosts) and fixed enums (counter names, reject reasons, queues): never a secret,
// never a source address, so every label set stays bounded.

#include <string>

#include "stats/snapshot.hpp"

namespace xk::stats {

// The Content-Type of what to_prometheus returns.
inline constexpr const char *kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// xdpknock_build_info; given by the caller, so this library does not rebuild per commit.
struct BuildInfo {
    std::string version, commit;
};

std::string to_prometheus(const Snapshot &s, const BuildInfo &build);

}  // namespace xk::stats
