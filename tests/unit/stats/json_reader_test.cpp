// stats.json back into a snapshot: status renders the daemon's numbers unchanged.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "known_snapshot.hpp"
#include "stats/json_printer.hpp"
#include "stats/json_reader.hpp"
#include "stats/stats_file.hpp"

using namespace xk::stats;
using xk::workers::LatencyHistogram;

namespace {

// The reader finds a bucket by its upper bound: that must lead back to the same bucket.
TEST(StatsReader, EveryBucketsUpperBoundIndexesItself) {
    for (unsigned i = 0; i < LatencyHistogram::kBuckets; ++i)
        EXPECT_EQ(LatencyHistogram::index(LatencyHistogram::upper_ns(i)), i) << i;
}

TEST(StatsReader, RoundTripsEveryField) {
    const Snapshot s = test::known_snapshot();
    const auto back = from_json(to_json(s));
    ASSERT_TRUE(back);
    EXPECT_EQ(to_json(*back), to_json(s));
    ASSERT_EQ(back->interfaces.size(), 1u);
    const Interface &i = back->interfaces[0];
    EXPECT_EQ(i.counters, s.interfaces[0].counters);
    ASSERT_TRUE(i.pipeline);
    EXPECT_EQ(i.pipeline->queues[0].latency, s.interfaces[0].pipeline->queues[0].latency);
    EXPECT_EQ(i.pipeline->queues[0].rejected, s.interfaces[0].pipeline->queues[0].rejected);
    ASSERT_TRUE(i.pipeline->http);
    EXPECT_EQ(i.pipeline->http->rejected, s.interfaces[0].pipeline->http->rejected);
    EXPECT_EQ(i.pipeline->http->frames, 3u);
    ASSERT_TRUE(i.authorized);
    EXPECT_EQ(i.authorized->at(1).source, s.interfaces[0].authorized->at(1).source);
    EXPECT_EQ(i.authorized->at(1).port, s.interfaces[0].authorized->at(1).port);
    ASSERT_TRUE(back->hosts && back->hosts->at(0).last_wake);
    EXPECT_EQ(back->hosts->at(0).last_wake->trigger, s.hosts->at(0).last_wake->trigger);
    EXPECT_EQ(back->pid, 4242);
    ASSERT_TRUE(i.ranges);
    EXPECT_EQ(i.ranges->at(0).accepted, s.interfaces[0].ranges->at(0).accepted);
    EXPECT_EQ(i.ranges->at(0).range_full, 5u);
    ASSERT_TRUE(back->cluster);
    EXPECT_EQ(back->cluster->peers, s.cluster->peers);
    EXPECT_EQ(back->cluster->replay_local_only, 6u);
    EXPECT_EQ(back->cluster->lag_p99_us, 1250u);
}

// Absent stays absent: status must not invent queues or hosts for a daemon that has none.
TEST(StatsReader, AbsentStaysAbsent) {
    const auto back = from_json(R"({"interfaces": [{"interface": "gw-out"}]})");
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->interfaces.at(0).pipeline);
    EXPECT_FALSE(back->interfaces.at(0).counters);
    EXPECT_FALSE(back->interfaces.at(0).authorized);
    EXPECT_FALSE(back->hosts);
    EXPECT_FALSE(back->cluster);
}

TEST(StatsReader, RefusesWhatIsNotASnapshot) {
    const std::string full = to_json(test::known_snapshot());
    EXPECT_FALSE(from_json(""));
    EXPECT_FALSE(from_json("{}"));
    EXPECT_FALSE(from_json("[1, 2]"));
    EXPECT_FALSE(from_json(full.substr(0, full.size() / 2)));  // half a file
    EXPECT_FALSE(from_json(R"({"interfaces": [{"interface": 3}]})"));
    EXPECT_FALSE(from_json(R"({"interfaces": [{"interface": "a", "authorized": [
        {"source": "not an address", "port": "*", "seconds_left": 1, "expired": false,
         "range": 0, "secret": 0}]}]})"));
}

// A newer daemon may count more: unknown names are skipped, the known ones kept.
TEST(StatsReader, SkipsUnknownCounterNames) {
    const auto back = from_json(
        R"({"interfaces": [{"interface": "a", "counters": {"syn_drop": 5, "from_the_future": 9}}]})");
    ASSERT_TRUE(back && back->interfaces.at(0).counters);
    EXPECT_EQ((*back->interfaces[0].counters)[XK_CNT_SYN_DROP], 5u);
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/xk-stats-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(StatsFile, WritesPrivatelyAndReadsBack) {
    TempDir dir;
    ASSERT_EQ(write_file(dir.path, test::known_snapshot()), "");
    struct stat st {};
    ASSERT_EQ(stat((dir.path / "stats.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(std::filesystem::exists(dir.path / "stats.json.tmp"));
    const auto back = read_file(dir.path);
    ASSERT_TRUE(back);
    EXPECT_EQ(to_json(*back), to_json(test::known_snapshot()));
    EXPECT_FALSE(read_file(dir.path / "missing"));
}

// A symlink planted at the temp name is replaced, never written through.
TEST(StatsFile, NeverWritesThroughAPlantedSymlink) {
    TempDir dir;
    const auto victim = dir.path / "victim";
    std::ofstream(victim) << "keep";
    std::filesystem::create_symlink(victim, dir.path / "stats.json.tmp");
    ASSERT_EQ(write_file(dir.path, test::known_snapshot()), "");
    std::ifstream in(victim);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "keep");
    EXPECT_TRUE(read_file(dir.path));
}

}  // namespace
