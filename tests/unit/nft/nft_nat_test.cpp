// NAT access on nftables (nft/nft_nat.hpp), in a network namespace of the binary's own
// (own_netns.cpp): the objects load, mappings carry the grant's timeout and target,
// extend-only, a new target replaces the old, a restart adopts them, detach removes only
// ours, and the source translation follows the config's ranges.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "../../common/run_command.hpp"
#include "nft/nft_nat.hpp"
#include "policy/config.hpp"

using namespace xk;

bool nft_test_netns();

namespace {

policy::Config nat_config() {
    return policy::parse_config(R"({"interfaces": [{"name": "lo"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [
        {"name": "forced", "method": "plain", "open": ["tcp/22"], "nat": {"to": "192.168.1.100:22"},
         "snat": "masquerade", "secrets": [{"label": "k", "secret": "0123456789abcdef"}]},
        {"name": "clients", "method": "fko", "port": 62202, "open": ["tcp/22"],
         "allow_client_nat": true, "nat_targets": ["192.168.1.0/24", "fd00::/64"],
         "snat": "198.51.100.1", "secrets": [{"label": "k", "key": "passphrase"}]}]})");
}

std::string run(const std::string &cmd) {
    return test::run_command(cmd);
}

class NatAccessTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(nft_test_netns()) << "needs root: its own network namespace";
        run("nft delete table inet xdpknock_nat 2>/dev/null");
    }
    policy::Address a(const char *text) { return *policy::parse_address(text); }
    policy::Endpoint to(const char *text) { return *policy::parse_endpoint(text); }
};

}  // namespace

TEST_F(NatAccessTest, AMappingCarriesTheTargetAndTheTimeout) {
    auto nat = nft::NatAccess::open("lo", nat_config());
    ASSERT_EQ(nat->map(a("10.0.0.2"), {6, 22}, to("192.168.1.100:22"), 30), 0);
    const std::string listed = run("nft list map inet xdpknock_nat lo_nat4");
    EXPECT_NE(listed.find("10.0.0.2 . tcp . 22 timeout 30s"), std::string::npos) << listed;
    EXPECT_NE(listed.find(": 192.168.1.100 . 22"), std::string::npos) << listed;
    ASSERT_EQ(nat->map(a("fd00::9"), {17, 53}, to("[fd00::5]:5353"), 40), 0);
    EXPECT_NE(run("nft list map inet xdpknock_nat lo_nat6").find("fd00::9 . udp . 53 timeout 40s"),
              std::string::npos);
    EXPECT_EQ(nat->size(), 2u);
    // The families must match, and a mapping needs one port.
    EXPECT_EQ(nat->map(a("10.0.0.3"), {6, 22}, to("[fd00::5]:22"), 30), -EAFNOSUPPORT);
    EXPECT_EQ(nat->map(a("10.0.0.3"), {0, 0}, to("192.168.1.100:22"), 30), -EINVAL);
}

TEST_F(NatAccessTest, ExtendOnlyAndANewTargetReplacesTheOld) {
    auto nat = nft::NatAccess::open("lo", nat_config());
    ASSERT_EQ(nat->map(a("10.0.0.2"), {6, 22}, to("192.168.1.100:22"), 300), 0);
    ASSERT_EQ(nat->map(a("10.0.0.2"), {6, 22}, to("192.168.1.100:22"), 30), 0);
    EXPECT_NE(run("nft list map inet xdpknock_nat lo_nat4").find("timeout 5m"), std::string::npos)
        << "a shorter grant must not shorten the mapping";
    ASSERT_EQ(nat->map(a("10.0.0.2"), {6, 22}, to("192.168.1.7:2222"), 30), 0);
    const std::string listed = run("nft list map inet xdpknock_nat lo_nat4");
    EXPECT_NE(listed.find(": 192.168.1.7 . 2222"), std::string::npos) << listed;
    EXPECT_EQ(listed.find("192.168.1.100"), std::string::npos) << listed;
}

TEST_F(NatAccessTest, ARestartAdoptsMappingsAndUnmapEndsThem) {
    {
        auto nat = nft::NatAccess::open("lo", nat_config());
        ASSERT_EQ(nat->map(a("10.0.0.2"), {6, 22}, to("192.168.1.100:22"), 300), 0);
        ASSERT_EQ(nat->map(a("10.0.0.20"), {6, 22}, to("192.168.1.100:22"), 300), 0);
    }
    auto again = nft::NatAccess::open("lo", nat_config());
    EXPECT_EQ(again->size(), 2u);
    // Adopted with its time left: a shorter grant still keeps it.
    ASSERT_EQ(again->map(a("10.0.0.2"), {6, 22}, to("192.168.1.100:22"), 30), 0);
    EXPECT_NE(run("nft list map inet xdpknock_nat lo_nat4").find("10.0.0.2 . tcp . 22 timeout 5m"),
              std::string::npos);
    EXPECT_EQ(again->unmap(a("10.0.0.2")), 1u);
    const std::string listed = run("nft list map inet xdpknock_nat lo_nat4");
    EXPECT_EQ(listed.find("10.0.0.2 . tcp"), std::string::npos) << listed;
    EXPECT_NE(listed.find("10.0.0.20 . tcp"), std::string::npos) << listed;
}

TEST_F(NatAccessTest, SourceTranslationFollowsTheRangesAndDetachRemovesOnlyOurs) {
    run("nft add table inet admin; nft add chain inet admin post "
        "'{ type nat hook postrouting priority srcnat; }'; nft add rule inet admin post "
        "masquerade");
    auto nat = nft::NatAccess::open("lo", nat_config());
    const std::string snat = run("nft list chain inet xdpknock_nat source_nat");
    EXPECT_NE(snat.find("ip daddr 192.168.1.100 meta l4proto { tcp, udp } th dport 22 masquerade"),
              std::string::npos)
        << snat;
    EXPECT_NE(snat.find("ip daddr 192.168.1.0/24 snat ip to 198.51.100.1"), std::string::npos)
        << snat;
    // No IPv6 address to translate to: IPv6 targets of that range are left as they are.
    EXPECT_EQ(snat.find("fd00::/64"), std::string::npos) << snat;
    auto reload = nat_config();
    reload.ranges[0].nat.snat = policy::Snat::none;
    nat->write_rules(reload);
    EXPECT_EQ(run("nft list chain inet xdpknock_nat source_nat").find("masquerade"),
              std::string::npos);
    EXPECT_NE(nft::NatAccess::detach("lo"), "");
    EXPECT_EQ(run("nft list tables"), "table inet admin\n");
    EXPECT_NE(run("nft list chain inet admin post").find("masquerade"), std::string::npos);
    EXPECT_EQ(nft::NatAccess::detach("lo"), "") << "nothing left to remove";
}
