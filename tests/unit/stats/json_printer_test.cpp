// The JSON printer: stats.json and `status --json` keep the keys the lab scripts read.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "known_snapshot.hpp"
#include "stats/json_printer.hpp"

using nlohmann::json;
using namespace xk::stats;

namespace {

const char *const kExpected = R"J({
  "pid": 4242,
  "interfaces": [{
    "interface": "gw-out", "mode": "native", "xdp": "native",
    "authorized": [
      {"source": "10.0.0.2", "port": "tcp/22", "seconds_left": 29, "expired": false,
       "range": 0, "secret": 1},
      {"source": "fd00::2", "port": "*", "seconds_left": 0, "expired": true,
       "range": 3, "secret": 0}],
    "queues": [{
      "queue": 1, "workers": 2, "frames": 12, "accepted": 9, "not_knock": 1,
      "rejected": {"hmac_mismatch": 2}, "ring_full": 3, "rx_dropped": 4, "fill_empty": 5,
      "latency": {"count": 3, "p50_us": 2.047, "p99_us": 2.047, "max_us": 5.119,
                  "buckets": [[1023, 1], [2047, 1], [5119, 1]]}}],
    "workers": [{"cpu": 0, "queue": 1, "poller": true, "frames": 8},
                {"cpu": 1, "queue": 1, "poller": false, "frames": 4}],
    "latency": {"count": 3, "p50_us": 2.047, "p99_us": 2.047, "max_us": 5.119},
    "http": {"frames": 3, "accepted": 1, "not_knock": 1, "rejected": {"hmac_mismatch": 1}},
    "ranges": [{"range": "home", "accepted": [{"secret": "2026-q4", "accepted": 7},
                                              {"secret": "2026-q3", "accepted": 2}],
                "sources": 3, "max_sources": 100, "range_full": 5, "map_full": 1}]}],
  "hosts": [{
    "name": "nas", "mac": "02:00:5e:10:00:01", "interface": "gw-lan", "state": "awake",
    "probed_at": 1700000000, "wakes": 1, "already_awake": 2, "coalesced": 3,
    "last_wake": {"at": 1700000000, "trigger": "authorized SYN from 10.0.0.2 to tcp/22",
                  "source": "10.0.0.2", "service": "tcp/22 (ssh)", "range": "home",
                  "secret": "laptop", "result": "woke", "magic_packets": 4, "ms": 1500}}],
  "cluster": {"node": "gw-a", "redis": "unix:/run/redis/redis-server.sock", "connected": true,
              "down_since": 0, "outages": 1, "published": 40, "queued": 2, "dropped": 3,
              "applied": 38, "replay_remote": 5, "replay_local_only": 6, "lag_samples": 38,
              "lag_p50_us": 310, "lag_p99_us": 1250, "lag_max_us": 2100,
              "peers": ["gw-b", "gw-c"]}
})J";

TEST(StatsJson, KnownSnapshotRendersTheExpectedDocument) {
    json got = json::parse(to_json(test::known_snapshot()));
    // Every counter by its name, zeros included (the lab greps `"name": N`).
    const json counters = got["interfaces"][0]["counters"];
    EXPECT_EQ(counters.size(), size_t{XK_CNT__MAX});
    EXPECT_EQ(counters["syn_drop"], 7);
    EXPECT_EQ(counters["knock_redirect"], 12);
    EXPECT_EQ(counters["syn_pass"], 0);
    got["interfaces"][0].erase("counters");
    EXPECT_EQ(got, json::parse(kExpected)) << got.dump(2);
}

TEST(StatsJson, CompactForTheFileIndentedForPeople) {
    const std::string line = to_json(test::known_snapshot());
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const std::string indented = to_json(test::known_snapshot(), 2);
    EXPECT_NE(indented.find("\n  \"interfaces\": ["), std::string::npos);
    EXPECT_NE(indented.find("\"syn_drop\": 7"), std::string::npos);  // lab_lib.sh counter()
}

// What a snapshot does not hold is left out, not printed as zero or empty.
TEST(StatsJson, AbsentPartsAreLeftOut) {
    Snapshot s;
    s.interfaces.push_back({});
    s.interfaces[0].name = "gw-out";
    EXPECT_EQ(json::parse(to_json(s)), json::parse(R"({"interfaces": [{"interface": "gw-out"}]})"));
    s.interfaces[0].authorized.emplace();
    s.interfaces[0].pipeline.emplace();
    s.hosts.emplace();
    EXPECT_EQ(json::parse(to_json(s)), json::parse(R"({"interfaces": [{"interface": "gw-out",
        "authorized": [], "queues": [], "workers": [],
        "latency": {"count": 0, "p50_us": 0.0, "p99_us": 0.0, "max_us": 0.0}}],
        "hosts": []})"));
}

}  // namespace
