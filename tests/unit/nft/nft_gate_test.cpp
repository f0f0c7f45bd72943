// The nftables gate in a scratch network namespace: attach, reload, loss, detach.
#include "nft/nft_gate.hpp"

#include <net/if.h>

#include <netinet/in.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <nlohmann/json.hpp>

#include "../../common/run_command.hpp"

bool nft_test_netns();

namespace xk::nft {
namespace {

#define NEED_NETNS() ASSERT_TRUE(nft_test_netns()) << "needs a network namespace of its own (root)"

class NftGateTest : public ::testing::Test {
  protected:
    void SetUp() override {
        NEED_NETNS();
        nft.try_run(
            "add table inet xdpknock\ndelete table inet xdpknock\n"
            "add table inet admin\ndelete table inet admin\n");
    }
    // The elements of one of our sets, as nft prints them in JSON.
    nlohmann::json elements(const std::string &set) {
        auto list = nft.list_json("list set inet xdpknock " + set);
        for (const auto &item : list)
            if (item.contains("set")) return item["set"].value("elem", nlohmann::json::array());
        return nlohmann::json::array();
    }
    bool table_exists(const std::string &table) { return nft.try_run("list table " + table) == 0; }
    NftContext nft;
};

GateSpec spec(const std::string &ifname) {
    return {ifname, {{IPPROTO_TCP, 22}, {IPPROTO_UDP, 1194}}, {{IPPROTO_UDP, 62201}}};
}

TEST_F(NftGateTest, DetachRemovesOnlyOurs) {
    nft.run(
        "add table inet admin\n"
        "add chain inet admin input { type filter hook input priority 0; policy accept; }\n"
        "add rule inet admin input tcp dport 9999 counter drop\n",
        "admin table");
    auto a = NftGate::attach(spec("eth0"));
    auto b = NftGate::attach(spec("veth-a.1"));
    auto gated = NftGate::gated_interfaces();
    std::sort(gated.begin(), gated.end());
    EXPECT_EQ(gated, (std::vector<std::string>{"eth0", "veth-a.1"}));
    EXPECT_TRUE(NftGate::present("eth0"));

    EXPECT_EQ(NftGate::detach("veth-a.1"), "veth-a.1: nftables gate detached");
    EXPECT_FALSE(NftGate::present("veth-a.1"));
    EXPECT_TRUE(NftGate::present("eth0"));
    EXPECT_EQ(a->lost(), "");
    EXPECT_NE(b->lost(), "");
    EXPECT_NE(NftGate::detach("eth0").find("it was the last"), std::string::npos);
    EXPECT_FALSE(table_exists("inet xdpknock"));
    EXPECT_EQ(NftGate::detach("eth0"), "no nftables gate on eth0");
    EXPECT_TRUE(NftGate::gated_interfaces().empty());

    auto admin = nft.list_json("list chain inet admin input");
    EXPECT_NE(admin.dump().find("9999"), std::string::npos);
}

TEST_F(NftGateTest, ReattachAndReloadKeepGrants) {
    auto gate = NftGate::attach(spec("eth0"));
    nft.run(
        "add element inet xdpknock eth0_allow4 { 10.0.0.1 . 6 . 22 timeout 60s comment "
        "\"r0 s0\" }",
        "grant");
    auto again = NftGate::attach(spec("eth0"));  // a restart
    EXPECT_EQ(elements("eth0_allow4").size(), 1u);

    GateSpec reload{"eth0", {{IPPROTO_TCP, 80}, {IPPROTO_UDP, 53}}, {}};
    gate->write_ports(reload);
    const std::string services = elements("eth0_services").dump();
    EXPECT_EQ(services.find("22"), std::string::npos) << services;
    EXPECT_NE(services.find("80"), std::string::npos) << services;
    EXPECT_NE(services.find("53"), std::string::npos) << services;
    EXPECT_TRUE(elements("eth0_knocks").empty());
    EXPECT_EQ(elements("eth0_allow4").size(), 1u);
    EXPECT_EQ(gate->lost(), "");
}

TEST_F(NftGateTest, LostNamesWhatHappened) {
    auto gate = NftGate::attach(spec("eth0"));
    EXPECT_EQ(gate->lost(), "");
    nft.run("flush chain inet xdpknock eth0_gate", "flush");
    // The rules are read again after a pause of 19 times the last read's cost.
    for (int i = 0; i < 100 && gate->lost().empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(gate->lost().find("lost its rules"), std::string::npos) << gate->lost();
    nft.run("delete chain inet xdpknock eth0_gate", "delete");
    EXPECT_NE(gate->lost().find("was removed"), std::string::npos) << gate->lost();
}

// The chain gates the link by index and by name: renamed, it stays gated (and lost() says
// the knock sockets' link is gone from that name, so the daemon exits, closed).
TEST_F(NftGateTest, ARenamedLinkStaysGatedAndIsReported) {
    ASSERT_EQ(test::run_command("ip link add xkren0 type veth peer name xkpeer0 2>&1"), "");
    GateSpec s = spec("xkren0");
    s.ifindex = if_nametoindex("xkren0");
    ASSERT_NE(s.ifindex, 0u);
    auto gate = NftGate::attach(s);
    EXPECT_EQ(gate->lost(), "");
    const std::string rules = test::run_command("nft list chain inet xdpknock xkren0_gate");
    EXPECT_NE(rules.find("iif != \"xkren0\" iifname != \"xkren0\" accept"), std::string::npos)
        << rules;
    ASSERT_EQ(test::run_command("ip link set xkren0 name xkren1 2>&1"), "");
    EXPECT_NE(test::run_command("nft list chain inet xdpknock xkren0_gate")
                  .find("iif != \"xkren1\" iifname != \"xkren0\" accept"),
              std::string::npos)
        << "the index still names the renamed link";
    EXPECT_NE(gate->lost().find("xkren0: the link was renamed"), std::string::npos) << gate->lost();
    test::run_command("ip link del xkren1");
}

TEST_F(NftGateTest, AttachErrorNamesTheInterfaceAndNft) {
    nft.run(
        "add table inet xdpknock\n"
        "add set inet xdpknock eth0_any4 { type ipv6_addr; flags timeout; }",
        "a set of another type");
    try {
        NftGate::attach(spec("eth0"));
        FAIL() << "attached over a set of another type";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("eth0: cannot attach the nftables gate: Error:"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(NftGate::present("eth0"));  // nothing of the batch was applied
}

TEST_F(NftGateTest, OddInterfaceNamesLoad) {
    for (const char *name : {"0wan", "a-b.c@d", "ip", "tcp", "br_lan"}) {
        EXPECT_NO_THROW(NftGate::attach(spec(name))) << name;
        EXPECT_TRUE(NftGate::present(name)) << name;
    }
    EXPECT_EQ(NftGate::gated_interfaces().size(), 5u);
    EXPECT_THROW(NftGate::attach(spec("a*")), std::runtime_error);
}

TEST_F(NftGateTest, CountersStartAtZeroAndErrorsCarryErrno) {
    auto gate = NftGate::attach(spec("eth0"));
    Counters c = gate->counters();
    EXPECT_EQ(c.dropped_packets + c.passed_packets + c.knocks_dropped_packets, 0u);
    std::string message;
    EXPECT_EQ(nft.try_run("delete element inet xdpknock eth0_any4 { 10.9.9.9 }", &message),
              -ENOENT);
    EXPECT_FALSE(message.empty());
    EXPECT_EQ(nft.try_run("create element inet xdpknock eth0_services { 6 . 80 }"), 0);
    EXPECT_EQ(nft.try_run("create element inet xdpknock eth0_services { 6 . 80 }"), -EEXIST);
}

}  // namespace
}  // namespace xk::nft
