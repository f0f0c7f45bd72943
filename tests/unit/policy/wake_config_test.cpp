// "hosts" and the services' "host" / "address": parsed, validated naming the key, and
// turned into the gate's ports and wake_targets entries.
#include <gtest/gtest.h>

#include <string>

#include "gate/ports.hpp"
#include "expect_config_error.hpp"
#include "policy/config.hpp"

using xk::policy::ConfigError;
using xk::policy::parse_config;
using xk::policy::WakeType;

namespace {

// A config with `hosts` and `services` spliced in; one plain range opening everything.
std::string config(const std::string &hosts, const std::string &services) {
    return R"({"interfaces": [{"name": "eth0"}], "hosts": )" + hosts + R"(, "services": )" +
           services +
           R"(, "ranges": [{"name": "r", "method": "plain", "open": ["*"],
                "secrets": [{"label": "l", "secret": "s3cret-knock"}]}]})";
}

const std::string kNas =
    R"({"name": "nas", "mac": "02:00:5e:10:00:01", "ipv4": "10.99.1.2", "ipv6": "fd99:1::2",
        "interface": "gw-lan", "wake": {"type": "link", "repeat_ms": 250, "timeout_s": 20}})";
const std::string kPc =
    R"({"name": "pc", "mac": "02-00-5E-10-00-02", "ipv4": "10.99.1.3", "interface": "gw-lan",
        "wake": {"type": "network", "port": 7}})";

std::string host_with(const std::string &field) {
    return R"([{"name": "nas", "mac": "02:00:5e:10:00:01", "ipv4": "10.99.1.2",
                "interface": "gw-lan", )" +
           field + "}]";
}

const std::string kSsh = R"([{"name": "ssh", "port": "tcp/22"}])";

TEST(WakeConfig, ParsesHostsAndServiceHosts) {
    auto c = parse_config(config("[" + kNas + ", " + kPc + "]",
                                 R"([{"name": "ssh", "port": "tcp/22"},
                                     {"name": "smb", "port": "tcp/445", "host": "nas"},
                                     {"name": "rdp", "port": "tcp/3389", "host": "pc",
                                      "address": "10.99.0.1"}])"));
    ASSERT_EQ(c.hosts.size(), 2u);
    const auto &nas = c.hosts[0];
    EXPECT_EQ(nas.name, "nas");
    EXPECT_EQ(nas.mac, (std::array<uint8_t, 6>{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}));
    EXPECT_EQ(xk::policy::format_address(*nas.ipv4), "10.99.1.2");
    EXPECT_EQ(xk::policy::format_address(*nas.ipv6), "fd99:1::2");
    EXPECT_EQ(nas.interface, "gw-lan");
    EXPECT_EQ(nas.wake_type, WakeType::link);
    EXPECT_EQ(nas.repeat_ms, 250u);
    EXPECT_EQ(nas.timeout_s, 20u);
    const auto &pc = c.hosts[1];
    EXPECT_EQ(pc.mac[5], 0x02);  // dashes and upper case accepted
    EXPECT_EQ(pc.wake_type, WakeType::network);
    EXPECT_EQ(pc.wake_port, 7);
    EXPECT_EQ(pc.repeat_ms, 500u);  // defaults
    EXPECT_EQ(pc.timeout_s, 10u);
    EXPECT_FALSE(pc.ipv6);

    EXPECT_EQ(c.services[0].host, -1);
    EXPECT_EQ(c.services[1].host, 0);
    EXPECT_FALSE(c.services[1].address);
    EXPECT_EQ(c.services[2].host, 1);
    ASSERT_TRUE(c.services[2].address);
    EXPECT_EQ(xk::policy::format_address(*c.services[2].address), "10.99.0.1");

    // The gate: host ids are index + 1; an address binding goes to wake_targets.
    auto table = xk::gate::port_table(c);
    EXPECT_EQ(table[22].wake_host, 0);
    EXPECT_EQ(table[445].wake_host, 1);
    EXPECT_EQ(table[445].flags, XK_PORT_PROTECT_TCP);
    EXPECT_EQ(table[3389].wake_host, 0);
    EXPECT_EQ(table[3389].flags, XK_PORT_PROTECT_TCP | XK_PORT_WAKE_BY_ADDR);
    auto targets = xk::gate::wake_target_table(c);
    ASSERT_EQ(targets.size(), 1u);
    EXPECT_EQ(targets[0].first.port, 3389);
    EXPECT_EQ(targets[0].first.addr[10], 0xff);  // IPv4-mapped, as the gate keys addresses
    EXPECT_EQ(targets[0].first.addr[12], 10);
    EXPECT_EQ(targets[0].second, 2u);
}

TEST(WakeConfig, HostsAreOptional) {
    auto c = parse_config(config("[]", kSsh));
    EXPECT_TRUE(c.hosts.empty());
    EXPECT_TRUE(xk::gate::wake_target_table(c).empty());
}

TEST(WakeConfig, RefusesBadHostsNamingTheKey) {
    expect_error(config(host_with(R"("bogus": 1)"), kSsh), "hosts[0].bogus: unknown key");
    expect_error(
        config(R"([{"mac": "02:00:5e:10:00:01", "ipv4": "10.0.0.1", "interface": "e"}])", kSsh),
        "hosts[0].name: missing");
    expect_error(config(R"([{"name": "n", "ipv4": "10.0.0.1", "interface": "e"}])", kSsh),
                 "hosts[0].mac: missing");
    for (const char *mac :
         {"02:00:5e:10:00", "02:00:5e:10:00:0g", "0200.5e10.0001", "2:0:5e:10:0:1"})
        expect_error(config(R"([{"name": "n", "mac": ")" + std::string(mac) +
                                R"(", "ipv4": "10.0.0.1", "interface": "e"}])",
                            kSsh),
                     "hosts[0].mac: must be a MAC");
    expect_error(config(R"([{"name": "n", "mac": "01:00:5e:00:00:01", "ipv4": "10.0.0.1",
                             "interface": "e"}])",
                        kSsh),
                 "hosts[0].mac: must be a unicast MAC");
    expect_error(config(R"([{"name": "n", "mac": "00:00:00:00:00:00", "ipv4": "10.0.0.1",
                             "interface": "e"}])",
                        kSsh),
                 "hosts[0].mac: must be a unicast MAC");
    expect_error(config(R"([{"name": "n", "mac": "02:00:5e:10:00:01", "interface": "e"}])", kSsh),
                 "hosts[0].ipv4: missing (or ipv6)");
    expect_error(config(R"([{"name": "n", "mac": "02:00:5e:10:00:01", "ipv4": "fd99::2",
                             "interface": "e"}])",
                        kSsh),
                 "hosts[0].ipv4: must be an IPv4 address");
    expect_error(config(R"([{"name": "n", "mac": "02:00:5e:10:00:01", "ipv6": "10.0.0.1",
                             "interface": "e"}])",
                        kSsh),
                 "hosts[0].ipv6: must be an IPv6 address");
    expect_error(config(R"([{"name": "n", "mac": "02:00:5e:10:00:01", "ipv4": "10.0.0.1"}])", kSsh),
                 "hosts[0].interface: missing");
    expect_error(config(R"([{"name": "n", "mac": "02:00:5e:10:00:01", "ipv4": "10.0.0.1",
                             "interface": "a-very-long-interface"}])",
                        kSsh),
                 "hosts[0].interface: is not 1..15 characters long");
    expect_error(config(host_with(R"("wake": {"type": "magic"})"), kSsh),
                 "hosts[0].wake.type: must be link, network or unicast");
    expect_error(config(host_with(R"("wake": {"type": "link", "port": 9})"), kSsh),
                 "hosts[0].wake.port: only UDP");
    expect_error(config(host_with(R"("wake": {"type": "unicast", "port": 0})"), kSsh),
                 "hosts[0].wake.port: must be an integer");
    expect_error(config(host_with(R"("wake": {"repeat_ms": 5})"), kSsh),
                 "hosts[0].wake.repeat_ms: must be an integer in [10, 60000]");
    expect_error(config(host_with(R"("wake": {"timeout_s": 0})"), kSsh),
                 "hosts[0].wake.timeout_s: must be an integer in [1, 3600]");
    expect_error(config(host_with(R"("wake": {"every": 1})"), kSsh),
                 "hosts[0].wake.every: unknown key");
    expect_error(config(R"([{"name": "n", "mac": "02:00:5e:10:00:01", "ipv6": "fd99::2",
                             "interface": "e", "wake": {"type": "network"}}])",
                        kSsh),
                 "hosts[0].wake.type: network (UDP broadcast) needs the host's ipv4");
    expect_error(config("[" + kNas + ", " + kNas + "]", kSsh),
                 "hosts[1].name: duplicates hosts[0]");
    expect_error(config("{}", kSsh), "config.hosts: must be an array");
}

TEST(WakeConfig, RefusesBadServiceHostsNamingTheKey) {
    const std::string hosts = "[" + kNas + ", " + kPc + "]";
    expect_error(config(hosts, R"([{"name": "smb", "port": "tcp/445", "host": "nope"}])"),
                 "services[0].host: no host named \"nope\"");
    expect_error(config(hosts, R"([{"name": "smb", "port": "tcp/445", "host": 3}])"),
                 "services[0].host: must be a non-empty string");
    expect_error(config(hosts, R"([{"name": "smb", "port": "tcp/445", "address": "10.0.0.1"}])"),
                 "services[0].address: only selects a wake host");
    expect_error(config(hosts, R"([{"name": "smb", "port": "tcp/445", "host": "nas",
                                    "address": "gw"}])"),
                 "services[0].address: must be an IPv4 or IPv6 address");
    expect_error(config(hosts, R"([{"name": "a", "port": "tcp/445", "host": "nas"},
                                   {"name": "b", "port": "tcp/445", "host": "pc"}])"),
                 "services[1].host: tcp/445 already wakes host \"nas\" (services[0])");
    // Different gateway addresses may wake different hosts on one port.
    EXPECT_NO_THROW(parse_config(config(hosts, R"([
        {"name": "a", "port": "tcp/445", "host": "nas", "address": "10.99.0.1"},
        {"name": "b", "port": "tcp/445", "host": "pc", "address": "fd99::1"}])")));
}

}  // namespace
