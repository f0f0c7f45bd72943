// The sequence method's config: steps, timeout, knockd's tcpflags, one-time files, revoke,
// and the checks that keep every step a port the gate can drop.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "../policy/expect_config_error.hpp"
#include "methods/registry.hpp"
#include "policy/config.hpp"
#include "policy/knock_policy.hpp"

using namespace xk;

namespace {

// A config whose last range is `range` (JSON object body), beside an fko range on 62201.
std::string with_range(const std::string &range) {
    return R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [{"name": "spa", "method": "fko", "open": ["tcp/22"], "proof_ip": true,
                  "secrets": [{"label": "k", "key": "a key", "hmac_key": "an hmac key"}]},
                 {"name": "seq", "method": "sequence", )" +
           range + "}]}";
}

const std::string kOpen = R"("open": ["tcp/22"])";

}  // namespace

TEST(SequenceMethod, StepsTimeoutAndFlagsAsKnockdHasThem) {
    auto c = policy::parse_config(with_range(
        R"("sequence": ["tcp/7000", "udp/8000", "tcp/9000"], "seq_timeout": 5,
           "tcp_flags": "syn,!ack", )" +
        kOpen));
    const auto &r = c.ranges[1];
    ASSERT_EQ(r.method, policy::Method::sequence);
    EXPECT_EQ(policy::format_sequence(r.sequence.steps), "tcp/7000,udp/8000,tcp/9000");
    EXPECT_EQ(r.sequence.timeout_s, 5u);
    EXPECT_EQ(r.sequence.tcp_flags_mask, 0x12);  // syn | ack
    EXPECT_EQ(r.sequence.tcp_flags_want, 0x02);  // syn set, ack clear
    // One secret names its grants in logs and stats; no knock port for workers.
    ASSERT_EQ(r.secrets.size(), 1u);
    EXPECT_EQ(r.secrets[0].label, "sequence");
    EXPECT_FALSE(methods::method_of(r).judged_by_workers());
    // Its knocks never reach a worker: a config of sequences alone listens on no UDP port.
    auto alone = policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [{"name": "seq", "method": "sequence", "sequence": ["udp/62201"],
                  "open": ["tcp/22"]}]})");
    EXPECT_FALSE(policy::KnockPolicy(alone, nullptr).listens(62201));
}

TEST(SequenceMethod, APlainSequenceIsWarnedAsSniffableNamingTheRange) {
    auto c = policy::parse_config(with_range(R"("sequence": ["tcp/7000"], )" + kOpen));
    const auto warnings = policy::config_warnings(c);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind("range seq: whoever sees the sequence", 0), 0u) << warnings[0];
    auto revoke = policy::parse_config(with_range(R"("sequence": ["tcp/7000"], "revoke": true)"));
    EXPECT_TRUE(policy::config_warnings(revoke).empty());
}

TEST(SequenceMethod, DefaultsAreKnockds) {
    auto c = policy::parse_config(with_range(R"("sequence": ["tcp/7000"], )" + kOpen));
    EXPECT_EQ(c.ranges[1].sequence.timeout_s, 25u);
    EXPECT_EQ(c.ranges[1].sequence.tcp_flags_mask, 0);  // every TCP packet counts
}

TEST(SequenceMethod, ErrorsNameTheKey) {
    expect_error(with_range(R"("sequence": ["tcp/7000"], "tcp_flags": "syn,fast", )" + kOpen),
                 "ranges[1].tcp_flags");
    expect_error(with_range(R"("sequence": ["tcp/7000"], "tcp_flags": "syn,!syn", )" + kOpen),
                 "ranges[1].tcp_flags");
    expect_error(with_range(R"("sequence": ["*"], )" + kOpen), "ranges[1].sequence[0]");
    expect_error(with_range(R"("sequence": ["icmp/7"], )" + kOpen), "ranges[1].sequence[0]");
    expect_error(with_range(R"("sequence": [], )" + kOpen), "ranges[1].sequence");
    expect_error(with_range(kOpen), "ranges[1].sequence");  // neither key
    std::string seventeen = R"("sequence": [)";
    for (int i = 0; i < 17; ++i)
        seventeen += (i ? ", " : "") + std::string("\"tcp/") + std::to_string(7000 + i) + "\"";
    expect_error(with_range(seventeen + "], " + kOpen), "ranges[1].sequence");
    expect_error(with_range(R"("sequence": ["tcp/7000"], "seq_timeout": 0, )" + kOpen),
                 "ranges[1].seq_timeout");
    // Worker keys have no meaning for a sequence: refused, never ignored.
    expect_error(with_range(R"("sequence": ["tcp/7000"], "port": 7000, )" + kOpen),
                 "ranges[1].port");
    expect_error(with_range(R"("sequence": ["tcp/7000"], "secrets": [], )" + kOpen),
                 "ranges[1].secrets");
}

TEST(SequenceMethod, AStepIsNeverAServiceOrAKnockPort) {
    expect_error(with_range(R"("sequence": ["tcp/7000", "tcp/22"], )" + kOpen),
                 "ranges[1].sequence");
    expect_error(with_range(R"("sequence": ["udp/62201"], )" + kOpen), "ranges[1].sequence");
    // tcp/62201 is not the knock port (UDP): fine.
    EXPECT_NO_THROW(policy::parse_config(with_range(R"("sequence": ["tcp/62201"], )" + kOpen)));
}

TEST(SequenceMethod, AtMostEightRangesShareAStep) {
    std::string ranges;
    for (int i = 0; i < 9; ++i)
        ranges += (i ? "," : "") + std::string(R"({"name": "s)") + std::to_string(i) +
                  R"(", "method": "sequence", "sequence": ["tcp/7000", "tcp/)" +
                  std::to_string(8000 + i) + R"("], "open": ["tcp/22"]})";
    expect_error(
        R"({"interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
                    "ranges": [)" +
            ranges + "]}",
        "ranges[8].sequence");
}

TEST(SequenceMethod, RevokeOpensNothing) {
    auto c = policy::parse_config(with_range(R"("sequence": ["tcp/9000"], "revoke": true)"));
    EXPECT_TRUE(c.ranges[1].sequence.revoke);
    EXPECT_TRUE(c.ranges[1].open.empty());
    EXPECT_GE(c.ranges[1].max_sources, 1u);
    expect_error(with_range(R"("sequence": ["tcp/9000"], "revoke": true, )" + kOpen),
                 "ranges[1].open");
    expect_error(with_range(R"("sequence": ["tcp/9000"])"), "ranges[1].open");  // neither
}

TEST(SequenceMethod, OneTimeFileIsKnockdsAndChecked) {
    const std::string path = ::testing::TempDir() + "/xk-once-" + std::to_string(getpid());
    std::ofstream(path) << "# used\n7000,8000:udp,9000\n\n 7001 , 7002:UDP\n";
    auto c =
        policy::parse_config(with_range(R"("one_time_sequences": ")" + path + R"(", )" + kOpen));
    const auto &once = c.ranges[1].sequence.one_time;
    ASSERT_EQ(once.size(), 2u);
    EXPECT_EQ(policy::format_sequence(once[0]), "tcp/7000,udp/8000,tcp/9000");
    EXPECT_EQ(policy::format_sequence(once[1]), "tcp/7001,udp/7002");
    EXPECT_TRUE(c.ranges[1].sequence.steps.empty());
    // Both keys, a bad line, and files that would hang or lie.
    expect_error(
        with_range(R"("sequence": ["tcp/1"], "one_time_sequences": ")" + path + R"(", )" + kOpen),
        "ranges[1].sequence");
    std::ofstream(path) << "7000,notaport\n";
    expect_error(with_range(R"("one_time_sequences": ")" + path + R"(", )" + kOpen),
                 "ranges[1].one_time_sequences");
    std::ofstream(path) << "7000,22\n";  // a step on the protected service
    expect_error(with_range(R"("one_time_sequences": ")" + path + R"(", )" + kOpen),
                 "ranges[1].sequence");
    for (const char *bad : {"/dev/zero", "relative/file", "/nonexistent/once"})
        expect_error(with_range(R"("one_time_sequences": ")" + std::string(bad) + R"(", )" + kOpen),
                     "ranges[1].one_time_sequences");
    unlink(path.c_str());
}
