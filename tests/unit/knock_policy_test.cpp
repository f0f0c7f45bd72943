#include <gtest/gtest.h>

#include <string>

#include "policy/knock_policy.hpp"
#include "spa/plain.hpp"

using namespace xk::policy;
using xk::spa::Reject;

namespace {

Config two_ranges() {
    return parse_config(R"({
      "interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/443"}],
      "ranges": [
        {"name": "lan", "method": "plain", "sources": ["192.0.2.0/24"], "open": ["tcp/22"],
         "timeout": 20, "secrets": [{"label": "a", "secret": "alpha-knock"}]},
        {"name": "all", "method": "plain", "open": ["tcp/22", "tcp/443"], "timeout": 60,
         "secrets": [{"label": "new", "secret": "bravo-knock"}, {"label": "old", "secret": "charlie"}]},
        {"name": "other-port", "method": "plain", "port": 4000, "open": ["*"],
         "secrets": [{"label": "x", "secret": "alpha-knock"}]}
      ]})");
}

Knock knock(const char *src, const std::string &payload, uint16_t port = 62201) {
    Knock k;
    k.source = *parse_address(src);
    k.port = port;
    k.payload = {reinterpret_cast<const uint8_t *>(payload.data()), payload.size()};
    return k;
}

}  // namespace

TEST(Plain, ExactBytesOnly) {
    std::string s = "secret";
    auto span = [](const std::string &x) {
        return std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(x.data()), x.size());
    };
    EXPECT_TRUE(xk::spa::plain_matches(span("secret"), span(s)));
    EXPECT_FALSE(xk::spa::plain_matches(span("secreT"), span(s)));
    EXPECT_FALSE(xk::spa::plain_matches(span("secret\n"), span(s)));
    EXPECT_FALSE(xk::spa::plain_matches(span(""), span("")));
}

TEST(KnockPolicy, FirstRangeAndSecretInOrderWin) {
    Config c = two_ranges();
    KnockPolicy p(c);
    std::string alpha = "alpha-knock", bravo = "bravo-knock", charlie = "charlie";

    Decision d = p.check(knock("192.0.2.7", alpha));
    ASSERT_TRUE(d.accepted());
    EXPECT_EQ(d.range_id, 0u);
    EXPECT_EQ(d.timeout_s, 20u);
    ASSERT_EQ(d.grant().size(), 1u);
    EXPECT_EQ(d.grant()[0].port, 22);

    d = p.check(knock("2001:db8::9", charlie));  // rotated-out secret still works
    ASSERT_TRUE(d.accepted());
    EXPECT_EQ(d.range_id, 1u);
    EXPECT_EQ(d.secret_id, 1u);
    EXPECT_EQ(d.grant().size(), 2u);
}

TEST(KnockPolicy, RefusalsCarryTheirReason) {
    Config c = two_ranges();
    KnockPolicy p(c);
    std::string alpha = "alpha-knock", wrong = "wrong-knock";
    // alpha is only valid for 192.0.2.0/24 on 62201.
    EXPECT_EQ(p.check(knock("198.51.100.1", alpha)).reason, Reject::plain_mismatch);
    EXPECT_EQ(p.check(knock("192.0.2.7", wrong)).reason, Reject::plain_mismatch);
    EXPECT_TRUE(p.check(knock("198.51.100.1", alpha, 4000)).accepted());
    EXPECT_EQ(p.check(knock("198.51.100.1", alpha, 5000)).reason, Reject::source_not_allowed);
    EXPECT_TRUE(p.listens(4000));
    EXPECT_FALSE(p.listens(5000));
}
