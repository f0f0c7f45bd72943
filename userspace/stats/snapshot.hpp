#pragma once
// One typed snapshot of the gateway, collected once a second by the daemon (and, for the
// pinned maps, by `xdpknock status`), rendered by separate printers: the status table,
// JSON (stats.json, `status --json`), Prometheus. Plain structs: no JSON types here.
// Fields marked "not in stats.json" only the daemon's own printers (Prometheus) see.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gate/counters.hpp"
#include "policy/address.hpp"
#include "policy/config.hpp"
#include "spa/reject.hpp"
#include "wake/wake_service.hpp"
#include "workers/latency_histogram.hpp"

namespace xk::stats {

// Knock -> authorized (XDP timestamp to map write), knocks per histogram bucket.
using Latency = workers::LatencyHistogram::Counts;
using Rejects = std::array<uint64_t, spa::kRejectCount>;

// One rx queue: its workers' counters summed and its AF_XDP socket's ring statistics.
struct Queue {
    uint32_t queue = 0;
    uint32_t workers = 0;
    uint64_t frames = 0, accepted = 0, not_knock = 0;
    Rejects rejected{};
    uint64_t ring_full = 0;  // back-pressure: XDP redirected a knock, the rx ring had no room
    uint64_t rx_dropped = 0, fill_empty = 0;
    Latency latency{};
};

struct Worker {
    unsigned cpu = 0;
    uint32_t queue = 0;
    bool poller = false;  // polls its socket itself (else fed batches by the poller)
    uint64_t frames = 0;
};

// What the daemon's AF_XDP side reports for one interface.
struct Pipeline {
    std::vector<Queue> queues;
    std::vector<Worker> workers;
    // fwknop -P http knocks, judged off the gate's copies (frames, accepted, not_knock and
    // rejected only); absent: no range takes http.
    std::optional<Queue> http;
};

struct Authorization {
    policy::Address source;
    policy::PortRef port;
    int64_t seconds_left = 0;  // 0 once expired (the sweeper has not removed it yet)
    bool expired = false;
    uint32_t range = 0, secret = 0;  // indexes into the config; beyond it: a hand grant
};

// One range as the daemon saw it: knocks accepted per secret label (granted, not just
// judged valid), and its share of the authorized map.
struct Range {
    std::string name;
    std::vector<std::pair<std::string, uint64_t>> accepted;  // secret label -> grants made
    uint32_t sources = 0, max_sources = 0;
    uint64_t range_full = 0, map_full = 0;  // grants refused: the range's quota, the map
    uint32_t entries = 0;  // authorized map entries its sources hold (not in stats.json)
};

struct Interface {
    std::string name;
    std::string mode;  // how the daemon attached ("native", "generic"); "" when unknown
    std::string xdp;   // what status finds on the link ("native", "not attached", ...)
    std::optional<gate::Counters> counters;                // absent: the map was not read
    std::optional<std::vector<Authorization>> authorized;  // absent: not listed
    std::optional<Pipeline> pipeline;                      // absent: no daemon reported
    std::optional<std::vector<Range>> ranges;              // absent: no daemon reported
    // The authorized map's size (not in stats.json); absent: not read.
    std::optional<uint32_t> authorized_max;
};

// The cluster as this gateway sees it (config "cluster").
struct ClusterState {
    std::string node, redis;
    bool connected = false;
    int64_t down_since = 0;  // unix seconds the current outage began; 0 while connected
    uint64_t outages = 0;
    uint64_t published = 0;          // grants and revokes of this gateway sent to Redis
    uint64_t queued = 0;             // waiting to be sent (an outage's backlog)
    uint64_t dropped = 0;            // not sent: the backlog was full
    uint64_t applied = 0;            // other gateways' grants and revokes written here
    uint64_t replay_remote = 0;      // knocks refused: another gateway had seen them first
    uint64_t replay_local_only = 0;  // knocks judged without Redis (during an outage)
    // Knock accepted at its gateway -> written into this one's map (wall clocks, so across
    // hosts it includes their difference), over the last samples.
    uint64_t lag_samples = 0;
    uint32_t lag_p50_us = 0, lag_p99_us = 0, lag_max_us = 0;
    std::vector<std::string> peers;  // other nodes heard from in the last 5 s
};

struct Snapshot {
    int pid = 0;  // the daemon's; 0 in status output
    std::vector<Interface> interfaces;
    std::optional<std::vector<wake::HostStatus>> hosts;  // absent: no wake hosts configured
    // Live digests in the replay cache (not in stats.json); absent: not read.
    std::optional<uint64_t> replay_entries;
    std::optional<ClusterState> cluster;  // absent: no cluster configured
};

inline uint64_t latency_count(const Latency &c) {
    uint64_t n = 0;
    for (uint64_t v : c) n += v;
    return n;
}

// An interface's latency: its queues' histograms merged.
inline Latency total_latency(const Pipeline &p) {
    Latency all{};
    for (const Queue &q : p.queues) {
        for (size_t b = 0; b < all.size(); ++b) all[b] += q.latency[b];
    }
    return all;
}

}  // namespace xk::stats
