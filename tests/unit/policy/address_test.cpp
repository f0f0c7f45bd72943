#include <gtest/gtest.h>

#include "auth/authorized.hpp"
#include "policy/address.hpp"

using namespace xk::policy;

TEST(Address, MapsIpv4AndRoundTrips) {
    auto a = parse_address("10.99.0.2");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(a->bytes[10], 0xff);
    EXPECT_EQ(a->bytes[15], 2);
    EXPECT_EQ(format_address(*a), "10.99.0.2");
    auto b = parse_address("fd99::2");
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->is_v4());
    EXPECT_EQ(format_address(*b), "fd99::2");
    EXPECT_FALSE(parse_address("10.99.0.256"));
    EXPECT_FALSE(parse_address("host"));
}

TEST(Cidr, ContainsByFamily) {
    auto v4 = parse_cidr("192.0.2.77/24");
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->contains(*parse_address("192.0.2.1")));
    EXPECT_FALSE(v4->contains(*parse_address("192.0.3.1")));
    EXPECT_FALSE(v4->contains(*parse_address("2001:db8::1")));
    auto any4 = parse_cidr("0.0.0.0/0");
    EXPECT_TRUE(any4->contains(*parse_address("203.0.113.9")));
    EXPECT_FALSE(any4->contains(*parse_address("2001:db8::1")));
    auto v6 = parse_cidr("2001:db8:1::/48");
    EXPECT_TRUE(v6->contains(*parse_address("2001:db8:1:ffff::1")));
    EXPECT_FALSE(v6->contains(*parse_address("2001:db8:2::1")));
    auto host = parse_cidr("2001:db8::5");
    EXPECT_EQ(host->prefix, 128);
    EXPECT_TRUE(parse_cidr("::/0")->contains(*parse_address("10.0.0.1")));
    auto odd = parse_cidr("10.0.0.0/9");
    EXPECT_TRUE(odd->contains(*parse_address("10.127.0.1")));
    EXPECT_FALSE(odd->contains(*parse_address("10.128.0.1")));
    EXPECT_FALSE(parse_cidr("10.0.0.0/x"));
}

TEST(AuthKey, LayoutMatchesTheGate) {
    auto a = *parse_address("10.99.0.2");
    xk_auth_key k = xk::auth::make_key(a, PortRef{6, 22});
    EXPECT_EQ(k.addr[10], 0xff);
    EXPECT_EQ(k.addr[12], 10);
    EXPECT_EQ(k.addr[15], 2);
    EXPECT_EQ(k.proto, 6);
    EXPECT_EQ(k.port, 22);  // host byte order, as the XDP side builds it
    EXPECT_EQ(k.pad, 0);
    xk_auth_key all = xk::auth::make_key(a, PortRef{});
    EXPECT_EQ(all.proto, 0);
    EXPECT_EQ(all.port, 0);
}
