// The gate's sequence tables from a config (gate/sequences.hpp) and the ports table's
// sequence flags: pure, no BPF.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "gate/gate.hpp"
#include "gate/ports.hpp"
#include "gate/sequences.hpp"

namespace xk::gate {
namespace {

using policy::PortRef;

constexpr PortRef tcp(uint16_t p) {
    return {IPPROTO_TCP, p};
}
constexpr PortRef udp(uint16_t p) {
    return {IPPROTO_UDP, p};
}

class SequenceTables : public ::testing::Test {
  protected:
    void SetUp() override {
        path_ = "/tmp/xk-seq-unit-" + std::to_string(getpid()) + ".txt";
        std::ofstream(path_) << "7100,7101\n7200:udp,7000\n";
        // Range 0 a knock range, so seq_index and range id differ; "b" shares tcp/7000.
        config_ = policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
          "services": [{"name": "ssh", "port": "tcp/22"}],
          "ranges": [
            {"name": "plain", "method": "plain", "port": 62201, "open": ["tcp/22"],
             "secrets": [{"label": "a", "secret": "sssss"}]},
            {"name": "a", "method": "sequence", "sequence": ["tcp/7000", "udp/8000", "tcp/9000"],
             "seq_timeout": 7, "tcp_flags": "syn,!ack", "open": ["tcp/22"]},
            {"name": "b", "method": "sequence", "one_time_sequences": ")" +
                                       path_ + R"(", "open": ["tcp/22"]}]})");
    }
    void TearDown() override { std::remove(path_.c_str()); }

    const xk_seq_port *portEntry(const gate::SequenceTables &t, PortRef p) const {
        for (const auto &[k, v] : t.ports)
            if (k.port == p.port && k.proto == p.proto) return &v;
        return nullptr;
    }

    std::string path_;
    policy::Config config_;
};

TEST_F(SequenceTables, RangeIdsSkipRangesWorkersJudge) {
    EXPECT_EQ(sequence_range_ids(config_), (std::vector<uint32_t>{1, 2}));
}

TEST_F(SequenceTables, RangesHoldTheCurrentSequence) {
    const auto t = sequence_tables(
        config_, {initial_sequence(config_.ranges[1]), {{udp(7200), tcp(7000)}, 3}});
    ASSERT_EQ(t.ranges.size(), 2u);
    const xk_seq_range &a = t.ranges[0];
    EXPECT_EQ(a.range_id, 1u);
    EXPECT_EQ(a.generation, 0u);
    EXPECT_EQ(a.timeout_ns, 7'000'000'000ull);
    EXPECT_EQ(a.tcp_mask, 0x12);  // syn, ack
    EXPECT_EQ(a.tcp_want, 0x02);  // syn set, ack clear
    ASSERT_EQ(a.nsteps, 3);
    EXPECT_EQ(a.steps[0].port, 7000);
    EXPECT_EQ(a.steps[0].proto, IPPROTO_TCP);
    EXPECT_EQ(a.steps[1].port, 8000);
    EXPECT_EQ(a.steps[1].proto, IPPROTO_UDP);
    EXPECT_EQ(a.steps[2].port, 9000);
    EXPECT_EQ(a.steps[3].port, 0);  // unused steps zeroed
    const xk_seq_range &b = t.ranges[1];
    EXPECT_EQ(b.range_id, 2u);
    EXPECT_EQ(b.generation, 3u);
    EXPECT_EQ(b.timeout_ns, 25'000'000'000ull);  // knockd's default
    EXPECT_EQ(b.tcp_mask, 0);                    // no tcp_flags: every TCP packet counts
    ASSERT_EQ(b.nsteps, 2);
    EXPECT_EQ(b.steps[0].proto, IPPROTO_UDP);
    EXPECT_EQ(b.steps[0].port, 7200);
}

TEST_F(SequenceTables, MissingOrEmptyCurrentTakesNoHits) {
    const auto none = sequence_tables(config_, {});
    ASSERT_EQ(none.ranges.size(), 2u);
    EXPECT_EQ(none.ranges[0].nsteps, 0);
    EXPECT_EQ(none.ranges[1].nsteps, 0);
    EXPECT_EQ(none.ranges[1].range_id, 2u);
}

TEST_F(SequenceTables, PortsCoverEveryStepOfEveryLine) {
    // Whatever is current: the one-time lines not current yet are listed too.
    const auto t = sequence_tables(config_, {});
    EXPECT_EQ(t.ports.size(), 6u);  // tcp/7000 udp/8000 tcp/9000 tcp/7100 tcp/7101 udp/7200
    const xk_seq_port *shared = portEntry(t, tcp(7000));
    ASSERT_TRUE(shared);
    ASSERT_EQ(shared->nranges, 2u);
    EXPECT_EQ(shared->seq_index[0], 0);
    EXPECT_EQ(shared->seq_index[1], 1);
    const xk_seq_port *line2 = portEntry(t, udp(7200));
    ASSERT_TRUE(line2);
    ASSERT_EQ(line2->nranges, 1u);
    EXPECT_EQ(line2->seq_index[0], 1);
    EXPECT_FALSE(portEntry(t, tcp(7200)));  // the other protocol is not a step
    for (const auto &[k, v] : t.ports) EXPECT_EQ(k.pad, 0);
}

TEST_F(SequenceTables, PortTableFlagsEveryStepAndNoKnockPort) {
    const std::vector<xk_port> table = port_table(config_);
    EXPECT_EQ(table[7000].flags, XK_PORT_SEQ_TCP);
    EXPECT_EQ(table[8000].flags, XK_PORT_SEQ_UDP);
    EXPECT_EQ(table[9000].flags, XK_PORT_SEQ_TCP);
    EXPECT_EQ(table[7100].flags, XK_PORT_SEQ_TCP);
    EXPECT_EQ(table[7200].flags, XK_PORT_SEQ_UDP);
    EXPECT_EQ(table[62201].flags, XK_PORT_KNOCK_UDP);
    EXPECT_EQ(table[22].flags, XK_PORT_PROTECT_TCP);
    // A sequence range has no knock port: its default port number stays unflagged.
    const size_t knock = std::count_if(
        table.begin(), table.end(), [](const xk_port &p) { return p.flags & XK_PORT_KNOCK_UDP; });
    EXPECT_EQ(knock, 1u);
}

TEST_F(SequenceTables, TooManyRangesOnOnePortIsRefused) {
    // Past what the config check allows (it refuses first): the table still refuses.
    policy::Config c = config_;
    for (int i = 0; i < XK_SEQ_PORT_RANGES; ++i) c.ranges.push_back(c.ranges[1]);
    EXPECT_THROW(sequence_tables(c, {}), GateError);
}

TEST_F(SequenceTables, OverlongCurrentIsRefused) {
    SeqCurrent longer{std::vector<PortRef>(XK_SEQ_STEPS_MAX + 1, tcp(7000)), 0};
    EXPECT_THROW(sequence_tables(config_, {longer}), GateError);
}

}  // namespace
}  // namespace xk::gate
