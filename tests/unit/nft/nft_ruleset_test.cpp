// The nftables gate's script text: names, comments, elements (pure, no kernel).
#include "nft/nft_ruleset.hpp"

#include <netinet/in.h>

#include <gtest/gtest.h>

namespace xk::nft {
namespace {

policy::Address addr(const char *text) {
    return *policy::parse_address(text);
}

TEST(NftRuleset, InterfaceNamesEncodeReversibly) {
    EXPECT_EQ(encode_ifname("eth0"), "eth0");
    EXPECT_EQ(encode_ifname("veth-a.1"), "veth_2Da_2E1");
    EXPECT_EQ(encode_ifname("0wan"), "_30wan");  // nft identifiers cannot start with a digit
    EXPECT_EQ(encode_ifname("br_lan"), "br_5Flan");
    for (const char *name : {"eth0", "veth-a.1", "0wan", "br_lan", "a@b", "x_2Dy"}) {
        EXPECT_EQ(decode_ifname(encode_ifname(name)), name) << name;
        EXPECT_EQ(ifname_of_chain(chain_name(name)), name) << name;
    }
    EXPECT_FALSE(decode_ifname("eth_zz"));
    EXPECT_FALSE(decode_ifname("_2"));
    EXPECT_FALSE(ifname_of_chain("eth0_other"));
    EXPECT_FALSE(ifname_of_chain("_gate"));
}

TEST(NftRuleset, NamesOfTwoInterfacesNeverCollide) {
    // "a_5Fb" is how "a_b" encodes: "a_5Fb"'s own encoding differs.
    EXPECT_NE(chain_name("a_b"), chain_name("a_5Fb"));
    EXPECT_NE(set_name("a", GrantSet::any4), set_name("a_any4", GrantSet::any4));
}

TEST(NftRuleset, CommentsCarryRangeAndSecret) {
    EXPECT_EQ(grant_comment(1, 0), "r1 s0");
    uint32_t r = 7, s = 7;
    EXPECT_TRUE(parse_grant_comment("r4294967295 s12", r, s));
    EXPECT_EQ(r, UINT32_MAX);
    EXPECT_EQ(s, 12u);
    for (const char *bad :
         {"", "r1", "r1 s", "r1  s2", "r1 s2 ", "x1 s2", "r-1 s2", "r99999999999 s1"}) {
        r = s = 5;
        EXPECT_FALSE(parse_grant_comment(bad, r, s)) << bad;
        EXPECT_EQ(r, 5u);
    }
}

TEST(NftRuleset, ElementsByFamilyAndPort) {
    const policy::PortRef ssh{IPPROTO_TCP, 22}, any{};
    EXPECT_EQ(set_for(addr("10.0.0.1"), ssh), GrantSet::allow4);
    EXPECT_EQ(set_for(addr("10.0.0.1"), any), GrantSet::any4);
    EXPECT_EQ(set_for(addr("2001:db8::1"), ssh), GrantSet::allow6);
    EXPECT_EQ(set_for(addr("2001:db8::1"), any), GrantSet::any6);
    EXPECT_EQ(element_key(addr("10.0.0.1"), ssh), "10.0.0.1 . 6 . 22");
    EXPECT_EQ(element_key(addr("2001:db8::1"), any), "2001:db8::1");
    EXPECT_EQ(grant_element(addr("10.0.0.1"), ssh, 30000, 1, 0),
              "10.0.0.1 . 6 . 22 timeout 30s comment \"r1 s0\"");
    EXPECT_EQ(grant_element(addr("10.0.0.1"), ssh, 2500, 1, 0),
              "10.0.0.1 . 6 . 22 timeout 2500ms comment \"r1 s0\"");
}

TEST(NftRuleset, ScriptsStayInOurTable) {
    GateSpec spec{"eth0", {{IPPROTO_TCP, 22}}, {{IPPROTO_UDP, 62201}}};
    for (const std::string &script : {attach_script(spec), ports_script(spec),
                                      detach_script("eth0", false), detach_script("eth0", true)}) {
        size_t lines = 0, ours = 0;
        for (size_t at = 0, nl; at < script.size(); at = nl + 1, ++lines) {
            nl = script.find('\n', at);
            std::string line = script.substr(at, nl - at);
            ours += line.find(" inet xdpknock") != std::string::npos;
        }
        EXPECT_EQ(lines, ours) << script;
    }
    EXPECT_NE(attach_script(spec).find("iifname != \"eth0\" accept"), std::string::npos);
    EXPECT_NE(attach_script(spec).find("6 . 22"), std::string::npos);
    EXPECT_NE(attach_script(spec).find("17 . 62201"), std::string::npos);
}

TEST(NftRuleset, RefusesNamesNftCannotQuote) {
    for (const char *bad : {"a\"b", "a*", "a\\b", "", "0123456789abcdef"}) {
        EXPECT_THROW(attach_script(GateSpec{bad, {}, {}}), std::invalid_argument) << bad;
    }
}

}  // namespace
}  // namespace xk::nft
