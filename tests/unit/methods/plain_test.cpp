// The plain method: its secrets, its pre-filter shape, its judge.

#include <gtest/gtest.h>

#include <string>

#include "../policy/expect_config_error.hpp"
#include "methods/registry.hpp"
#include "policy/config.hpp"
#include "policy/knock_policy.hpp"
#include "xdpknock/maps.h"

using namespace xk;

namespace {

policy::Config plain_config(const std::string &secrets, const std::string &open = "\"tcp/22\"") {
    return policy::parse_config(R"({
      "interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/443"}],
      "ranges": [{"name": "p", "method": "plain", "timeout": 25, "open": [)" +
                                open + R"(], "secrets": [)" + secrets + "]}]}");
}

std::span<const uint8_t> bytes(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

}  // namespace

TEST(PlainMethod, SecretsTakeTextOrBase64AndNoFkoKeys) {
    auto c =
        plain_config(R"({"label": "t", "secret": "abc"}, {"label": "b", "secret_base64": "AAE="})");
    EXPECT_EQ(c.ranges[0].secrets[0].plain, (std::vector<uint8_t>{'a', 'b', 'c'}));
    EXPECT_EQ(c.ranges[0].secrets[1].plain, (std::vector<uint8_t>{0, 1}));
    std::string good = plain_config(R"({"label": "t", "secret": "abc"})").ranges[0].name;
    EXPECT_EQ(good, "p");
    auto range = [](const std::string &secret) {
        return std::string(R"({"interfaces": [{"name": "eth0"}],
          "services": [{"name": "ssh", "port": "tcp/22"}],
          "ranges": [{"name": "p", "method": "plain", "open": ["tcp/22"], "secrets": [)") +
               secret + "]}]}";
    };
    expect_error(range(R"({"label": "t", "key": "abc"})"), "ranges[0].secrets[0]");
    expect_error(range(R"({"label": "t"})"), "ranges[0].secrets[0].secret");
    expect_error(range(R"({"secret": "abc"})"), "ranges[0].secrets[0].label");
}

TEST(PlainMethod, ShapeIsTheSecretsLengths) {
    auto c = plain_config(R"({"label": "a", "secret": "1234"}, {"label": "b", "secret": "12"})");
    xk_port e{};
    methods::method_of(c.ranges[0]).add_shape(c.ranges[0], e);
    EXPECT_EQ(e.knock_shapes, XK_KNOCK_PLAIN);
    EXPECT_EQ(e.plain_min_len, 2);
    EXPECT_EQ(e.plain_max_len, 4);
    EXPECT_EQ(e.plain_lens, (1ull << 0) | (1ull << 2));
}

TEST(PlainMethod, OneEntryPerOpenPortAndAStarIsOne) {
    auto c = plain_config(R"({"label": "a", "secret": "x"})", R"("tcp/22", "tcp/443")");
    EXPECT_EQ(policy::entries_per_source(c.ranges[0], c), 2u);
    auto star = plain_config(R"({"label": "a", "secret": "x"})", R"("*")");
    EXPECT_EQ(policy::entries_per_source(star.ranges[0], star), 1u);
}

TEST(PlainMethod, JudgeMatchesExactBytesInOrderAndGrantsTheWholeList) {
    auto c = plain_config(R"({"label": "a", "secret": "alpha"}, {"label": "b", "secret": "bravo"})",
                          R"("tcp/22", "tcp/443")");
    const auto &m = methods::method_of(c.ranges[0]);
    EXPECT_FALSE(m.uses_replay(c.ranges[0]));
    auto judge = m.make_judge(c.ranges[0]);
    spa::ReplayDigester digester;
    std::string payload = "bravo";
    methods::Knock k;
    k.payload = bytes(payload);
    methods::PacketReplay replay(nullptr, digester, k.payload, 0);  // plain keeps no replays
    methods::Decision d;
    ASSERT_EQ(judge->judge(k, replay, d), spa::Reject::ok);
    EXPECT_EQ(d.secret_id, 1u);
    EXPECT_EQ(d.timeout_s, 25u);
    ASSERT_EQ(d.nports, 2u);
    EXPECT_EQ(d.ports[1], (policy::PortRef{6, 443}));
    EXPECT_NO_THROW(policy::KnockPolicy(c, nullptr));  // plain alone needs no replay cache
    std::string wrong = "bravo\n";
    k.payload = bytes(wrong);
    EXPECT_EQ(judge->judge(k, replay, d), spa::Reject::plain_mismatch);
}

TEST(PlainMethod, NoWarningsAndNothingForTheLog) {
    auto c = plain_config(R"({"label": "a", "secret": "x"})");
    EXPECT_TRUE(policy::config_warnings(c).empty());
    std::string log;
    methods::method_of(c.ranges[0]).describe(methods::Decision{}, log);
    EXPECT_EQ(log, "");
}
