// The text gateways exchange through Redis: what one writes the others read back exactly,
// and what a broken or hostile writer puts in Redis is dropped, never widened.
#include "cluster/cluster_event.hpp"

#include <gtest/gtest.h>

#include "cluster/cluster_scripts.hpp"

namespace xk::cluster {
namespace {

Event grant_of(const char *addr, std::initializer_list<const char *> ports, uint32_t timeout) {
    Event e;
    e.addr = *policy::parse_address(addr);
    for (const char *p : ports) e.ports[e.nports++] = policy::parse_port_ref(p);
    e.timeout_s = timeout;
    e.at_us = 1764600000000000;
    e.expires_ms = e.at_us / 1000 + timeout * 1000;
    return e;
}

TEST(ClusterEvent, AGrantReadsBackAsWritten) {
    Event e = grant_of("2001:db8::7", {"tcp/22", "udp/53"}, 30);
    auto r = parse_event(event_fields(e, "gw-a"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->node, "gw-a");
    EXPECT_EQ(r->event.op, Event::Op::grant);
    EXPECT_EQ(r->event.addr, e.addr);
    ASSERT_EQ(r->event.nports, 2);
    EXPECT_EQ(policy::format_port(r->event.ports[1]), "udp/53");
    EXPECT_EQ(r->event.expires_ms, e.expires_ms);
    EXPECT_EQ(r->event.timeout_s, 30u);
    EXPECT_EQ(r->event.at_us, e.at_us);
}

TEST(ClusterEvent, ARevokeReadsBackAsWritten) {
    Event e;
    e.op = Event::Op::revoke;
    e.addr = *policy::parse_address("10.0.0.2");
    e.at_us = 1764600000123456;
    auto r = parse_event(event_fields(e, "gw-b"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->event.op, Event::Op::revoke);
    EXPECT_EQ(r->event.addr, e.addr);
    EXPECT_EQ(r->event.at_us, e.at_us);
}

TEST(ClusterEvent, AStoredGrantReadsBackAsWritten) {
    Event e = grant_of("10.0.0.2", {"tcp/22"}, 60);
    auto r = parse_stored_grant(e.addr, "tcp/22", grant_value(e, "gw-a"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->node, "gw-a");
    EXPECT_EQ(r->event.expires_ms, e.expires_ms);
    EXPECT_EQ(r->event.timeout_s, 60u);
    EXPECT_FALSE(parse_stored_grant(e.addr, "tcp/22,udp/53", grant_value(e, "gw-a")));
    EXPECT_FALSE(parse_stored_grant(e.addr, "tcp/22", "1 2 3 gw-a"));
    EXPECT_FALSE(parse_stored_grant(e.addr, "tcp/22", grant_value(e, "gw a")));
}

TEST(ClusterEvent, WhatABadWriterLeavesIsDropped) {
    Event e = grant_of("10.0.0.2", {"tcp/22"}, 30);
    const Fields good = event_fields(e, "gw-a");
    auto with = [&](const std::string &key, const std::string &value) {
        Fields f = good;
        for (auto &[k, v] : f)
            if (k == key) v = value;
        return f;
    };
    EXPECT_TRUE(parse_event(good));
    EXPECT_FALSE(parse_event(with("op", "grant-all")));
    EXPECT_FALSE(parse_event(with("node", "")));
    EXPECT_FALSE(parse_event(with("node", "gw-a\nINFO forged")));
    EXPECT_FALSE(parse_event(with("addr", "10.0.0.0/8")));
    EXPECT_FALSE(parse_event(with("ports", "")));
    EXPECT_FALSE(parse_event(with("ports", "tcp/22,,udp/53")));
    EXPECT_FALSE(parse_event(with("ports", "icmp/1")));
    EXPECT_FALSE(parse_event(with("timeout_s", "86401")));  // past any grant's length
    EXPECT_FALSE(parse_event(with("timeout_s", "0")));
    EXPECT_FALSE(parse_event(with("timeout_s", "-5")));
    EXPECT_FALSE(parse_event(with("expires_ms", "99999999999999999999")));
    EXPECT_FALSE(parse_event(with("at_us", "12abc")));
    Fields twice = good;
    twice.emplace_back("addr", "0.0.0.0");  // which address would it be?
    EXPECT_FALSE(parse_event(twice));
}

TEST(ClusterEvent, AReceiverHoldsAGrantNoLongerThanItsOwnTimeout) {
    Event e = grant_of("10.0.0.2", {"tcp/22"}, 30);
    const int64_t origin_ms = e.at_us / 1000;
    EXPECT_EQ(remaining_seconds(e, origin_ms + 2), 29u);  // rounded down: never later
    EXPECT_EQ(remaining_seconds(e, origin_ms + 10000), 20u);
    EXPECT_EQ(remaining_seconds(e, origin_ms - 3600 * 1000), 30u);  // a receiver an hour behind
    EXPECT_EQ(remaining_seconds(e, origin_ms + 29500), 0u);
    EXPECT_EQ(remaining_seconds(e, origin_ms + 3600 * 1000), 0u);  // an hour ahead: expired
}

TEST(ClusterEvent, ReplayKeysAreHexUnderThePrefix) {
    spa::ReplayDigest d{};
    d[0] = 0xab;
    d[31] = 0x01;
    char out[256];
    const size_t n = replay_key("xk", d, out);
    const std::string key(out, n);
    EXPECT_EQ(key, "xk:replay:ab" + std::string(60, '0') + "01");
    char small[10];
    EXPECT_EQ(replay_key("xk", d, small), 0u);
}

TEST(ClusterEvent, GrantKeysNameTheirAddress) {
    const auto a = *policy::parse_address("2001:db8::7");
    EXPECT_EQ(grant_key("xk", a), "xk:grant:2001:db8::7");
    EXPECT_EQ(grant_key_address("xk", grant_key("xk", a)), a);
    EXPECT_FALSE(grant_key_address("xk", "other:grant:10.0.0.1"));
    EXPECT_FALSE(grant_key_address("xk", "xk:grant:nonsense"));
}

TEST(ClusterEvent, TheScriptCallCarriesTheStreamFields) {
    Event e = grant_of("10.0.0.2", {"tcp/22"}, 30);
    auto argv = event_command(e, "gw-a", "xk");
    ASSERT_GT(argv.size(), 10u);
    EXPECT_EQ(argv[0], "EVAL");
    EXPECT_EQ(argv[3], "xk:grant:10.0.0.2");
    EXPECT_EQ(argv[4], "xk:revoked:10.0.0.2");
    EXPECT_EQ(argv[5], "xk:events");
    EXPECT_EQ(argv[6], "xk:grants");
    Fields tail;
    for (size_t i = 12; i + 1 < argv.size(); i += 2) tail.emplace_back(argv[i], argv[i + 1]);
    EXPECT_EQ(tail, event_fields(e, "gw-a"));
}

}  // namespace
}  // namespace xk::cluster
