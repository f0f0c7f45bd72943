// The status table: what an admin reads, and what the multiqueue and wake labs grep.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "known_snapshot.hpp"
#include "stats/table_printer.hpp"

using namespace xk::stats;

namespace {

TEST(StatsTable, KnownSnapshotRendersTheExpectedTable) {
    setenv("TZ", "UTC", 1);
    tzset();
    const std::string expected =
        "gw-out  xdp: native\n"
        "  counters:\n"
        "    fragment_drop=0 fragment_pass=0 http_copy=0 http_lost=0\n"
        "    http_rate_skip=0 ipv6_ext_drop=0 knock_byte_drop=0 knock_frag_drop=0\n"
        "    knock_len_drop=0 knock_no_socket=0 knock_rate_drop=0 knock_redirect=12\n"
        "    malformed_pass=0 mapped_drop=0 other_pass=0 seq_done=0\n"
        "    seq_lost=0 seq_miss=0 seq_step=0 syn_drop=7\n"
        "    syn_expired=0 syn_pass=0 tcp_drop=0 tcp_flow_pass=0\n"
        "    tcp_grant_pass=0 tcp_pass=0 udp_drop=0 udp_expired=0\n"
        "    udp_flow_pass=0 udp_grant_pass=0 udp_pass=0 vlan_deep_drop=0\n"
        "    wake_event=0 wake_lost=0 wake_suppressed=0\n"
        "  queue 1: workers=2 frames=12 accepted=9 ring_full=3 rx_dropped=4 "
        "knock->authorized p50=2.0us p99=2.0us\n"
        "  workers (cpu/queue, + = fed by the poller): 0/q1 1+q1\n"
        "  http knocks: requests=3 accepted=1 not_knock=1\n"
        "  range home: sources=3/100 2026-q4=7 2026-q3=2 refused: range_full=5 map_full=1\n"
        "  authorized: 2\n"
        "    10.0.0.2                                 tcp/22       29s left\n"
        "    fd00::2                                  *             0s left\n"
        "hosts:\n"
        "  nas              02:00:5e:10:00:01 on gw-lan   awake   wakes=1 already_awake=2\n"
        "    last wake 2023-11-14 22:13:20: woke after 1500 ms, 4 magic packet(s); "
        "authorized SYN from 10.0.0.2 to tcp/22\n"
        "cluster: node gw-a, Redis unix:/run/redis/redis-server.sock: connected\n"
        "  peers seen: gw-b gw-c\n"
        "  published=40 queued=2 dropped=3 applied=38 outages=1 replay_remote=5 "
        "replay_local_only=6\n"
        "  lag (knock at a peer -> map here): p50 0.31 ms, p99 1.25 ms, max 2.10 ms\n";
    EXPECT_EQ(to_table(test::known_snapshot()), expected);
}

// No daemon: the pinned maps alone, and a queue without grants shows no latency.
TEST(StatsTable, GateOnlyAndNoLatencyYet) {
    Snapshot s;
    Interface i;
    i.name = "gw-out";
    i.xdp = "not attached";
    i.pipeline = Pipeline{{Queue{}}, {}, std::nullopt};
    s.interfaces.push_back(i);
    EXPECT_EQ(to_table(s),
              "gw-out  xdp: not attached\n"
              "  queue 0: workers=0 frames=0 accepted=0 ring_full=0 rx_dropped=0\n"
              "  workers (cpu/queue, + = fed by the poller):\n"
              "  authorized: 0\n");
}

}  // namespace
