#pragma once
// One snapshot with every field set, shared by the printer and reader tests.

#include "stats/snapshot.hpp"

namespace xk::stats::test {

inline Snapshot known_snapshot() {
    using workers::LatencyHistogram;
    Snapshot s;
    s.pid = 4242;
    Interface i;
    i.name = "gw-out";
    i.mode = "native";
    i.xdp = "native";
    i.counters.emplace();
    (*i.counters)[XK_CNT_SYN_DROP] = 7;
    (*i.counters)[XK_CNT_KNOCK_REDIRECT] = 12;
    i.authorized = std::vector<Authorization>{
        {*policy::parse_address("10.0.0.2"), policy::parse_port_ref("tcp/22"), 29, false, 0, 1},
        {*policy::parse_address("fd00::2"), policy::parse_port_ref("*"), 0, true, 3, 0}};
    Queue q;
    q.queue = 1;
    q.workers = 2;
    q.frames = 12;
    q.accepted = 9;
    q.not_knock = 1;
    q.rejected[static_cast<size_t>(spa::Reject::hmac_mismatch)] = 2;
    q.ring_full = 3;
    q.rx_dropped = 4;
    q.fill_empty = 5;
    for (uint64_t ns : {1000u, 2000u, 5000u}) ++q.latency[LatencyHistogram::index(ns)];
    Queue http;  // fwknop -P http knocks: judged, not queued
    http.frames = 3;
    http.accepted = 1;
    http.not_knock = 1;
    http.rejected[static_cast<size_t>(spa::Reject::hmac_mismatch)] = 1;
    i.pipeline = Pipeline{{q}, {{0, 1, true, 8}, {1, 1, false, 4}}, http};
    i.ranges = std::vector<Range>{{"home", {{"2026-q4", 7}, {"2026-q3", 2}}, 3, 100, 5, 1}};
    s.interfaces.push_back(i);
    wake::HostStatus h{"nas", "02:00:5e:10:00:01", "gw-lan", "awake", 1700000000, 1, 2,
                       3,     std::nullopt};
    h.last_wake = wake::LastWake{1700000000, "authorized SYN from 10.0.0.2 to tcp/22",
                                 "10.0.0.2", "tcp/22 (ssh)",
                                 "home",     "laptop",
                                 "woke",     4,
                                 1500};
    s.hosts = std::vector<wake::HostStatus>{h};
    ClusterState c;
    c.node = "gw-a";
    c.redis = "unix:/run/redis/redis-server.sock";
    c.connected = true;
    c.outages = 1;
    c.published = 40;
    c.queued = 2;
    c.dropped = 3;
    c.applied = 38;
    c.replay_remote = 5;
    c.replay_local_only = 6;
    c.lag_samples = 38;
    c.lag_p50_us = 310;
    c.lag_p99_us = 1250;
    c.lag_max_us = 2100;
    c.peers = {"gw-b", "gw-c"};
    s.cluster = c;
    return s;
}

}  // namespace xk::stats::test
