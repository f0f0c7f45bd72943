#include "daemon/one_time_ledger.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "policy/config.hpp"

namespace {

using xk::daemon::OneTimeLedger;
using xk::policy::Config;

struct LedgerTest : ::testing::Test {
    std::string dir = ::testing::TempDir() + "/xk-ledger-" + std::to_string(getpid());
    void SetUp() override { std::filesystem::create_directories(dir); }
    void TearDown() override { std::filesystem::remove_all(dir); }

    Config config(const std::string &lines) {
        std::ofstream(dir + "/seqs") << lines;
        return xk::policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
          "services": [{"name": "ssh", "port": "tcp/22"}],
          "ranges": [{"name": "plain", "method": "sequence", "sequence": ["tcp/7000", "udp/8000"],
                      "open": ["tcp/22"]},
                     {"name": "once", "method": "sequence", "one_time_sequences": ")" +
                                        dir + R"(/seqs", "open": ["tcp/22"]}]})");
    }
};

std::string text(const xk::gate::SeqCurrent &c) {
    return xk::policy::format_sequence(c.steps);
}

TEST_F(LedgerTest, APlainSequenceIsItsStepsAndNeverConsumed) {
    const Config c = config("7001,7002\n");
    OneTimeLedger ledger(dir + "/ledger.json");
    const auto now = ledger.currents(c);
    ASSERT_EQ(now.size(), 2u);
    EXPECT_EQ(text(now[0]), "tcp/7000,udp/8000");
    std::string err;
    EXPECT_FALSE(ledger.consume(c.ranges[0], now[0].generation, err));
    EXPECT_EQ(text(ledger.current(c.ranges[0])), "tcp/7000,udp/8000");
}

TEST_F(LedgerTest, EachLineWorksOnceAndStaysUsedAfterARestart) {
    const Config c = config("# used by knockd before\n7001,7002:udp\n\n7003, 7004\n");
    {
        OneTimeLedger ledger(dir + "/ledger.json");
        const auto first = ledger.current(c.ranges[1]);
        EXPECT_EQ(text(first), "tcp/7001,udp/7002");
        std::string err;
        ASSERT_TRUE(ledger.consume(c.ranges[1], first.generation, err)) << err;
        // A second completion of the same line (another source raced it) is stale.
        EXPECT_FALSE(ledger.consume(c.ranges[1], first.generation, err));
        EXPECT_TRUE(err.empty());
        const auto second = ledger.current(c.ranges[1]);
        EXPECT_EQ(text(second), "tcp/7003,tcp/7004");
        EXPECT_NE(second.generation, first.generation);
    }
    OneTimeLedger restarted(dir + "/ledger.json");
    const auto now = restarted.current(c.ranges[1]);
    EXPECT_EQ(text(now), "tcp/7003,tcp/7004");
    std::string err;
    ASSERT_TRUE(restarted.consume(c.ranges[1], now.generation, err)) << err;
    EXPECT_TRUE(restarted.current(c.ranges[1]).steps.empty()) << "every line used";
    // The ledger names no sequence, only digests; and only its owner reads it.
    std::ifstream in(dir + "/ledger.json");
    const std::string body((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(body.find("7003"), std::string::npos);
    struct stat st {};
    ASSERT_EQ(stat((dir + "/ledger.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST_F(LedgerTest, ASequenceListedTwiceWorksTwice) {
    const Config c = config("7001,7002\n7001,7002\n7005\n");
    OneTimeLedger ledger(dir + "/ledger.json");
    std::string err;
    for (int use = 0; use < 2; ++use) {
        const auto now = ledger.current(c.ranges[1]);
        EXPECT_EQ(text(now), "tcp/7001,tcp/7002") << use;
        ASSERT_TRUE(ledger.consume(c.ranges[1], now.generation, err)) << err;
    }
    EXPECT_EQ(text(ledger.current(c.ranges[1])), "tcp/7005");
}

// A completion judged for the range that held a slot before a reload moved the ranges must
// not count for the one there now, even with the same steps: generations differ by range.
TEST_F(LedgerTest, TwoRangesWithTheSameStepsHaveDifferentGenerations) {
    const Config c = xk::policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [{"name": "open", "method": "sequence", "sequence": ["tcp/7000"], "open": ["tcp/22"]},
                 {"name": "close", "method": "sequence", "sequence": ["tcp/7000"], "revoke": true}]})");
    OneTimeLedger ledger(dir + "/ledger.json");
    EXPECT_NE(ledger.current(c.ranges[0]).generation, ledger.current(c.ranges[1]).generation);
}

TEST_F(LedgerTest, AnUnreadableLedgerRefusesToStart) {
    std::ofstream(dir + "/ledger.json") << "{not json";
    EXPECT_THROW(OneTimeLedger(dir + "/ledger.json"), std::runtime_error);
    // A ledger that exists but cannot be opened is no "none used" either.
    std::filesystem::remove(dir + "/ledger.json");
    std::filesystem::create_directories(dir + "/ledger.json");  // a folder: open fails, EISDIR
    EXPECT_THROW(OneTimeLedger(dir + "/ledger.json"), std::runtime_error);
}

TEST_F(LedgerTest, AFailedWriteConsumesNothing) {
    const Config c = config("7001\n7002\n");
    OneTimeLedger ledger(dir + "/missing-folder/ledger.json");
    const auto now = ledger.current(c.ranges[1]);
    std::string err;
    EXPECT_FALSE(ledger.consume(c.ranges[1], now.generation, err));
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(text(ledger.current(c.ranges[1])), "tcp/7001");
}

}  // namespace
