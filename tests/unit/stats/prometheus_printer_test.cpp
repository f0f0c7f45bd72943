// The Prometheus printer: every line parses as text exposition 0.0.4 (HELP and TYPE once
// per family, families contiguous, no repeated series), histograms are cumulative, label
// values are escaped and bounded (config names and enums, never a source address), and
// the values are the snapshot's.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "known_snapshot.hpp"
#include "stats/json_printer.hpp"
#include "stats/prometheus_printer.hpp"

using namespace xk::stats;

namespace {

const BuildInfo kBuild{"0.1.0", "abc1234"};

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;  // values unescaped
    std::string series, value;
};

struct Parsed {
    std::map<std::string, std::string> help, type;  // family -> text, type
    std::vector<Sample> samples;
};

const std::regex kSample(
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")"
    R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? )"
    R"(([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]Inf|NaN)$)");
const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)")re");
const std::regex kComment(R"(^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");

std::string unescape(const std::string &s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        char c = s[++i];
        out += c == 'n' ? '\n' : c;
    }
    return out;
}

// The family a sample belongs to: a histogram's series carry a suffix.
std::string family_of(const std::string &name, const Parsed &p) {
    for (const char *suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (name.size() > s.size() && name.ends_with(s)) {
            std::string base = name.substr(0, name.size() - s.size());
            if (p.type.count(base) && p.type.at(base) == "histogram") return base;
        }
    }
    return name;
}

void parse_comment(const std::smatch &m, Parsed &p, std::set<std::string> &done,
                   const std::string &current) {
    auto &table = m[1] == "HELP" ? p.help : p.type;
    EXPECT_EQ(table.count(m[2]), 0u) << m[1] << " twice for " << m[2];
    EXPECT_EQ(done.count(m[2]), 0u) << m[2] << " comes back after another family";
    if (!current.empty() && current != m[2]) done.insert(current);
    if (m[1] == "TYPE") {
        EXPECT_TRUE(std::regex_match(m[3].str(), std::regex("counter|gauge|histogram"))) << m[3];
    }
    table[m[2]] = m[3];
}

// Checks the grammar line by line and returns what it read.
Parsed parse(const std::string &text) {
    Parsed p;
    EXPECT_TRUE(text.empty() || text.back() == '\n');
    std::istringstream in(text);
    std::set<std::string> done, series;
    std::string line, current;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, kComment)) {
            parse_comment(m, p, done, current);
            current = m[2];
            continue;
        }
        if (!std::regex_match(line, m, kSample)) {
            ADD_FAILURE() << "not a sample line: " << line;
            continue;
        }
        Sample s{m[1], {}, m[1].str() + m[2].str(), m[3]};
        const std::string labels = m[2];
        for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it)
            s.labels[(*it)[1]] = unescape((*it)[2]);
        const std::string family = family_of(s.name, p);
        EXPECT_EQ(family, current) << "sample outside its family's block: " << line;
        EXPECT_TRUE(p.help.count(family) && p.type.count(family)) << "no HELP/TYPE: " << line;
        EXPECT_TRUE(series.insert(s.series).second) << "series repeated: " << line;
        if (p.type[family] == "counter") {
            EXPECT_TRUE(family.ends_with("_total")) << family;
        }
        p.samples.push_back(std::move(s));
    }
    return p;
}

// The value of the one sample with these labels; "" when there is none.
std::string value(const Parsed &p, const std::string &name,
                  const std::map<std::string, std::string> &labels) {
    for (const Sample &s : p.samples) {
        if (s.name == name && s.labels == labels) return s.value;
    }
    return "";
}

size_t count(const Parsed &p, const std::string &name) {
    size_t n = 0;
    for (const Sample &s : p.samples) n += s.name == name;
    return n;
}

TEST(PrometheusPrinter, KnownSnapshotParsesAndKeepsItsValues) {
    Snapshot s = test::known_snapshot();
    s.replay_entries = 17;
    s.interfaces[0].authorized_max = 65536;
    (*s.interfaces[0].ranges)[0].entries = 4;
    const Parsed p = parse(to_prometheus(s, kBuild));
    const std::string iface = "gw-out";

    EXPECT_EQ(value(p, "xdpknock_build_info", {{"version", "0.1.0"}, {"commit", "abc1234"}}), "1");
    EXPECT_EQ(value(p, "xdpknock_gate_info", {{"interface", iface}, {"mode", "native"}}), "1");
    EXPECT_EQ(count(p, "xdpknock_xdp_packets_total"), size_t{XK_CNT__MAX});
    EXPECT_EQ(value(p, "xdpknock_xdp_packets_total",
                    {{"interface", iface}, {"decision", "knock_redirect"}}),
              "12");
    EXPECT_EQ(
        value(p, "xdpknock_xdp_packets_total", {{"interface", iface}, {"decision", "syn_drop"}}),
        "7");
    EXPECT_EQ(value(p, "xdpknock_knocks_total",
                    {{"interface", iface},
                     {"range", "home"},
                     {"secret", "2026-q4"},
                     {"result", "accepted"}}),
              "7");
    EXPECT_EQ(value(p, "xdpknock_knocks_total",
                    {{"interface", iface},
                     {"range", "home"},
                     {"secret", "2026-q3"},
                     {"result", "accepted"}}),
              "2");
    EXPECT_EQ(count(p, "xdpknock_knock_rejects_total"), xk::spa::kRejectCount - 1);  // no "ok"
    // The queue's and the http knocks' judge's, summed.
    EXPECT_EQ(value(p, "xdpknock_knock_rejects_total",
                    {{"interface", iface}, {"reason", "hmac_mismatch"}}),
              "3");
    EXPECT_EQ(value(p, "xdpknock_not_knock_frames_total", {{"interface", iface}}), "2");
}

TEST(PrometheusPrinter, RangesQueuesHostsAndReplay) {
    Snapshot s = test::known_snapshot();
    s.replay_entries = 17;
    s.interfaces[0].authorized_max = 65536;
    (*s.interfaces[0].ranges)[0].entries = 4;
    const Parsed p = parse(to_prometheus(s, kBuild));
    const std::map<std::string, std::string> range{{"interface", "gw-out"}, {"range", "home"}};
    const std::map<std::string, std::string> queue{{"interface", "gw-out"}, {"queue", "1"}};
    auto with = [](auto labels, const char *k, const char *v) {
        labels[k] = v;
        return labels;
    };
    EXPECT_EQ(value(p, "xdpknock_authorized_sources", range), "3");
    EXPECT_EQ(value(p, "xdpknock_authorized_sources_max", range), "100");
    EXPECT_EQ(value(p, "xdpknock_authorized_entries", range), "4");
    EXPECT_EQ(value(p, "xdpknock_grants_refused_total", with(range, "reason", "range_full")), "5");
    EXPECT_EQ(value(p, "xdpknock_grants_refused_total", with(range, "reason", "map_full")), "1");
    EXPECT_EQ(value(p, "xdpknock_authorized_map_entries_max", {{"interface", "gw-out"}}), "65536");
    EXPECT_EQ(value(p, "xdpknock_queue_frames_total", queue), "12");
    EXPECT_EQ(value(p, "xdpknock_ring_drops_total", with(queue, "reason", "rx_ring_full")), "3");
    EXPECT_EQ(value(p, "xdpknock_ring_drops_total", with(queue, "reason", "rx_dropped")), "4");
    EXPECT_EQ(value(p, "xdpknock_fill_ring_empty_total", queue), "5");
    const std::map<std::string, std::string> nas{{"host", "nas"}};
    EXPECT_EQ(value(p, "xdpknock_wake_total", with(nas, "result", "wake_started")), "1");
    EXPECT_EQ(value(p, "xdpknock_wake_total", with(nas, "result", "already_awake")), "2");
    EXPECT_EQ(value(p, "xdpknock_wake_total", with(nas, "result", "coalesced")), "3");
    EXPECT_EQ(value(p, "xdpknock_wake_host_state", with(nas, "state", "awake")), "1");
    EXPECT_EQ(value(p, "xdpknock_wake_host_state", with(nas, "state", "asleep")), "0");
    EXPECT_EQ(value(p, "xdpknock_wake_host_state", with(nas, "state", "unknown")), "0");
    EXPECT_EQ(value(p, "xdpknock_wake_host_probed_timestamp_seconds", nas), "1700000000");
    EXPECT_EQ(value(p, "xdpknock_replay_cache_entries", {}), "17");
}

TEST(PrometheusPrinter, TheClusterAsThisGatewaySeesIt) {
    const Parsed p = parse(to_prometheus(test::known_snapshot(), kBuild));
    const std::map<std::string, std::string> node{{"node", "gw-a"}};
    auto with = [](auto labels, const char *k, const char *v) {
        labels[k] = v;
        return labels;
    };
    EXPECT_EQ(value(p, "xdpknock_cluster_connected", node), "1");
    EXPECT_EQ(value(p, "xdpknock_cluster_outages_total", node), "1");
    EXPECT_EQ(value(p, "xdpknock_cluster_events_total", with(node, "event", "published")), "40");
    EXPECT_EQ(value(p, "xdpknock_cluster_events_total", with(node, "event", "dropped")), "3");
    EXPECT_EQ(value(p, "xdpknock_cluster_events_total", with(node, "event", "applied")), "38");
    EXPECT_EQ(value(p, "xdpknock_cluster_queued", node), "2");
    EXPECT_EQ(value(p, "xdpknock_cluster_replay_total", with(node, "decided", "remote")), "5");
    EXPECT_EQ(value(p, "xdpknock_cluster_replay_total", with(node, "decided", "local_only")), "6");
    EXPECT_EQ(value(p, "xdpknock_cluster_peers", node), "2");
    EXPECT_EQ(value(p, "xdpknock_cluster_lag_seconds", with(node, "quantile", "0.99")), "0.00125");
    EXPECT_EQ(p.type.at("xdpknock_cluster_connected"), "gauge");
}

// Cumulative, ascending, +Inf last and equal to _count; the known snapshot's three knocks
// (1, 2 and 5 us) land under the bounds that hold them.
TEST(PrometheusPrinter, LatencyHistogramIsCumulative) {
    const Parsed p = parse(to_prometheus(test::known_snapshot(), kBuild));
    EXPECT_EQ(p.type.at("xdpknock_knock_latency_seconds"), "histogram");
    double last_le = -1;
    uint64_t last = 0;
    std::string inf;
    for (const Sample &s : p.samples) {
        if (s.name != "xdpknock_knock_latency_seconds_bucket") continue;
        ASSERT_TRUE(inf.empty()) << "a bucket after +Inf";
        EXPECT_EQ(s.labels.at("interface"), "gw-out");
        const std::string &le = s.labels.at("le");
        const uint64_t v = std::stoull(s.value);
        EXPECT_GE(v, last) << "le=" << le;
        last = v;
        if (le == "+Inf") {
            inf = s.value;
            continue;
        }
        EXPECT_GT(std::stod(le), last_le);
        last_le = std::stod(le);
    }
    const std::map<std::string, std::string> l{{"interface", "gw-out"}};
    EXPECT_EQ(inf, "3");
    EXPECT_EQ(value(p, "xdpknock_knock_latency_seconds_count", l), inf);
    auto bucket = [&](const char *le) {
        return value(p, "xdpknock_knock_latency_seconds_bucket",
                     {{"interface", "gw-out"}, {"le", le}});
    };
    EXPECT_EQ(bucket("5.11e-07"), "0");
    EXPECT_EQ(bucket("1.023e-06"), "1");
    EXPECT_EQ(bucket("2.047e-06"), "2");
    EXPECT_EQ(bucket("4.095e-06"), "2");
    EXPECT_EQ(bucket("8.191e-06"), "3");
    const double sum = std::stod(value(p, "xdpknock_knock_latency_seconds_sum", l));
    EXPECT_NEAR(sum, 8e-6, 8e-6 * 0.0625);
}

TEST(PrometheusPrinter, LabelValuesAreEscaped) {
    Snapshot s = test::known_snapshot();
    s.interfaces[0].name = "a\"b\\c\nd";
    const std::string text = to_prometheus(s, {"1\n2", "x\"y"});
    const Parsed p = parse(text);
    EXPECT_NE(text.find(R"(interface="a\"b\\c\nd")"), std::string::npos);
    EXPECT_NE(text.find(R"(xdpknock_build_info{version="1\n2",commit="x\"y"} 1)"),
              std::string::npos);
    EXPECT_EQ(value(p, "xdpknock_xdp_packets_total",
                    {{"interface", "a\"b\\c\nd"}, {"decision", "knock_redirect"}}),
              "12");
}

// The snapshot holds grants (10.0.0.2, fd00::2) and a wake by 10.0.0.2: none of it, nor a
// MAC, may become a label (unbounded, and not for whoever scrapes).
TEST(PrometheusPrinter, NoAddressInAnyLabel) {
    const std::string text = to_prometheus(test::known_snapshot(), kBuild);
    const Parsed p = parse(text);
    const std::regex v4(R"(\d+\.\d+\.\d+\.\d+)"), v6(R"([0-9a-fA-F]*:[0-9a-fA-F]*:)");
    for (const Sample &s : p.samples) {
        for (const auto &[k, v] : s.labels) {
            EXPECT_FALSE(std::regex_search(v, v4)) << s.series;
            EXPECT_FALSE(std::regex_search(v, v6)) << s.series;
        }
    }
    for (const char *leak : {"10.0.0.2", "fd00::2", "02:00:5e:10:00:01", "authorized SYN"})
        EXPECT_EQ(text.find(leak), std::string::npos) << leak;
}

// Two config entries with one name must not repeat a series: their counts add up.
TEST(PrometheusPrinter, RepeatedSeriesAreSummed) {
    Snapshot s = test::known_snapshot();
    s.interfaces[0].ranges->push_back((*s.interfaces[0].ranges)[0]);
    const Parsed p = parse(to_prometheus(s, kBuild));
    EXPECT_EQ(value(p, "xdpknock_knocks_total",
                    {{"interface", "gw-out"},
                     {"range", "home"},
                     {"secret", "2026-q4"},
                     {"result", "accepted"}}),
              "14");
}

// What the snapshot lacks is left out, family and all; build info always stays.
TEST(PrometheusPrinter, EmptySnapshotHasBuildInfoOnly) {
    const Parsed p = parse(to_prometheus(Snapshot{}, kBuild));
    ASSERT_EQ(p.samples.size(), 1u);
    EXPECT_EQ(p.samples[0].name, "xdpknock_build_info");
    EXPECT_EQ(p.help.size(), 1u);
}

// The fields added for the metrics stay out of stats.json (its readers and tests).
TEST(PrometheusPrinter, JsonUnchangedByMetricsFields) {
    const Snapshot before = test::known_snapshot();
    Snapshot s = before;
    s.replay_entries = 17;
    s.interfaces[0].authorized_max = 65536;
    (*s.interfaces[0].ranges)[0].entries = 4;
    EXPECT_EQ(to_json(s), to_json(before));
}

}  // namespace
