// What a reload may change in place (secrets, ranges, services, knock ports and rates,
// log level) and what needs a restart, named by the key a config error would name.
#include <gtest/gtest.h>

#include <string>

#include "daemon/config_change.hpp"
#include "policy/config.hpp"
#include "policy/knock_policy.hpp"

using xk::daemon::restart_key;
using xk::policy::Config;
using xk::policy::parse_config;

namespace {

const std::string kBase = R"({
  "interfaces": [{"name": "gw-out"}, {"name": "gw-lan", "xdp_mode": "generic"}],
  "state_dir": "/var/lib/xdpknock", "workers": 2, "cpus": [0, 1], "busy_poll": false,
  "authorized_max": 4096, "flow_idle_timeout": 600, "log_level": "info",
  "knock_rate": {"per_source_pps": 20, "burst": 40},
  "hosts": [{"name": "nas", "mac": "02:00:5e:10:00:01", "ipv4": "10.99.1.2",
             "interface": "gw-lan"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/443"},
               {"name": "nas", "port": "tcp/8080", "host": "nas"}],
  "ranges": [{"name": "lab", "method": "plain", "port": 62201, "proof_time": 60,
              "open": ["tcp/22"], "secrets": [{"label": "a", "secret": "secret-A-long"}]}]
})";

// kBase with the first `from` replaced by `to`.
Config with(const std::string &from, const std::string &to) {
    std::string s = kBase;
    auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return parse_config(s.replace(pos, from.size(), to));
}

const Config kRunning = parse_config(kBase);
const int64_t kRetention = xk::policy::KnockPolicy::replay_retention(kRunning);

std::string key_for(const std::string &from, const std::string &to) {
    return restart_key(kRunning, with(from, to), kRetention);
}

}  // namespace

TEST(ConfigChange, TheSameConfigReloads) {
    EXPECT_EQ(restart_key(kRunning, parse_config(kBase), kRetention), "");
}

TEST(ConfigChange, WhatTheNextKnockReadsReloads) {
    EXPECT_EQ(key_for("secret-A-long", "secret-B-long"), "");                    // rotated
    EXPECT_EQ(key_for(R"("label": "a")", R"("label": "b")"), "");                // relabelled
    EXPECT_EQ(key_for(R"("port": 62201)", R"("port": 62202)"), "");              // knock port
    EXPECT_EQ(key_for(R"("open": ["tcp/22"])", R"("open": ["tcp/8080"])"), "");  // what opens
    EXPECT_EQ(key_for(R"("per_source_pps": 20)", R"("per_source_pps": 5)"), "");
    EXPECT_EQ(key_for(R"("log_level": "info")", R"("log_level": "debug")"), "");
    EXPECT_EQ(key_for(R"({"name": "web", "port": "tcp/443"},)", ""), "");  // a service goes
    EXPECT_EQ(key_for(R"("ranges": [)", R"("ranges": [{"name": "new", "method": "plain",
        "open": ["tcp/8080"], "secrets": [{"label": "n", "secret": "secret-N-long"}]},)"),
              "");                                                         // a range comes
    EXPECT_EQ(key_for(R"("proof_time": 60)", R"("proof_time": 30)"), "");  // shorter window
}

TEST(ConfigChange, WhatIsFixedForTheDaemonsLifeNeedsARestart) {
    EXPECT_EQ(key_for(R"({"name": "gw-out"}, )", ""), "config.interfaces");
    EXPECT_EQ(key_for(R"("name": "gw-out")", R"("name": "gw-other")"), "interfaces[0].name");
    EXPECT_EQ(key_for(R"("xdp_mode": "generic")", R"("xdp_mode": "native")"),
              "interfaces[1].xdp_mode");
    EXPECT_EQ(key_for("/var/lib/xdpknock", "/var/lib/other"), "config.state_dir");
    EXPECT_EQ(key_for(R"("workers": 2)", R"("workers": 1)"), "config.workers");
    EXPECT_EQ(key_for(R"("cpus": [0, 1])", R"("cpus": [1, 0])"), "config.cpus");
    EXPECT_EQ(key_for(R"("busy_poll": false)", R"("busy_poll": true)"), "config.busy_poll");
    EXPECT_EQ(key_for(R"("authorized_max": 4096)", R"("authorized_max": 8192)"),
              "config.authorized_max");
    EXPECT_EQ(key_for(R"("flow_idle_timeout": 600)", R"("flow_idle_timeout": 900)"),
              "config.flow_idle_timeout");
    EXPECT_EQ(key_for(R"("log_level")", R"("replay_capacity": 2048, "log_level")"),
              "config.replay_capacity");
    EXPECT_EQ(key_for(R"("log_level")", R"("umem_frames": 2048, "log_level")"),
              "config.umem_frames");
    EXPECT_EQ(key_for(R"("log_level")", R"("metrics": {"listen": "127.0.0.1:9642"}, "log_level")"),
              "metrics.listen");
    EXPECT_EQ(key_for(R"("log_level")",
                      R"("cluster": {"redis": "127.0.0.1:6379", "node": "a"}, "log_level")"),
              "config.cluster");
    Config nft = kRunning;
    nft.interfaces[0].gate = xk::policy::GateKind::nftables;
    EXPECT_EQ(restart_key(kRunning, nft, kRetention), "interfaces[0].gate");
}

// NAT access hooks its chains in at start: the first range with it needs a restart; once
// one forwards, another (or a changed target) reloads in place.
TEST(ConfigChange, TheFirstRangeWithNatAccessNeedsARestart) {
    const std::string nat = R"("open": ["tcp/22"], "nat": {"to": "10.99.1.2:2222"})";
    EXPECT_EQ(key_for(R"("open": ["tcp/22"])", nat),
              "ranges[0].nat (the first range with NAT access)");
    Config forwarding = with(R"("open": ["tcp/22"])", nat);
    Config moved =
        with(R"("open": ["tcp/22"])", R"("open": ["tcp/22"], "nat": {"to": "10.99.1.3:22"})");
    EXPECT_EQ(restart_key(forwarding, moved, kRetention), "");
    EXPECT_EQ(restart_key(forwarding, kRunning, kRetention), "") << "dropping NAT reloads";
}

// The replay cache keeps digests for the retention it started with: a longer time window
// would accept a knock again once its digest aged out.
TEST(ConfigChange, ALongerReplayWindowThanTheCacheKeepsNeedsARestart) {
    EXPECT_EQ(key_for(R"("proof_time": 60)", R"("proof_time": 600)"), "ranges[0].proof_time");
    // Within what the cache keeps (2 x 120 s at least): in place.
    EXPECT_EQ(key_for(R"("proof_time": 60)", R"("proof_time": 120)"), "");
    Config two_ranges = with(R"("ranges": [)", R"("ranges": [{"name": "new", "method": "plain",
        "proof_time": 900, "open": ["tcp/8080"], "secrets": [{"label": "n",
        "secret": "secret-N-long"}]},)");
    EXPECT_EQ(restart_key(kRunning, two_ranges, kRetention), "ranges[0].proof_time");
    EXPECT_EQ(restart_key(kRunning, two_ranges, 1800), "");
}

TEST(ConfigChange, TheWakeServiceIsRebuiltOnlyWhenWhatItReadsChanged) {
    using xk::daemon::same_wake_inputs;
    EXPECT_TRUE(same_wake_inputs(kRunning, with("secret-A-long", "secret-B-long")));
    EXPECT_TRUE(
        same_wake_inputs(kRunning, with(R"("per_source_pps": 20)", R"("per_source_pps": 5)")));
    EXPECT_FALSE(same_wake_inputs(kRunning, with("02:00:5e:10:00:01", "02:00:5e:10:00:02")));
    EXPECT_FALSE(same_wake_inputs(kRunning, with(R"("label": "a")", R"("label": "b")")));
    EXPECT_FALSE(same_wake_inputs(kRunning, with(R"("name": "lab")", R"("name": "lab2")")));
    EXPECT_FALSE(same_wake_inputs(kRunning, with(R"(, "host": "nas")", "")));
}

TEST(ConfigChange, RemovedServicesAreTheOnesWhosePortIsNoLongerProtected) {
    auto gone = xk::daemon::unprotected_services(
        kRunning, with(R"({"name": "web", "port": "tcp/443"},)", ""));
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].name, "web");
    // Renamed, same port: still protected.
    EXPECT_TRUE(
        xk::daemon::unprotected_services(kRunning, with(R"("name": "ssh")", R"("name": "openssh")"))
            .empty());
}

TEST(ConfigChange, MinusVKeepsDebugWhateverTheReloadedLevel) {
    using xk::daemon::log_level_of;
    using xk::log::Level;
    Config warn = with(R"("log_level": "info")", R"("log_level": "warn")");
    EXPECT_EQ(log_level_of(warn, false), Level::warn);
    EXPECT_EQ(log_level_of(warn, true), Level::debug);
    EXPECT_EQ(log_level_of(kRunning, false), Level::info);
}

// An nftables gate's knock sockets took their filter at start: new knock ports need a
// restart there, not on an XDP gate (whose maps a reload rewrites).
TEST(ConfigChange, KnockPortsOfAnNftablesGateNeedARestart) {
    Config xdp_moved = kRunning;
    xdp_moved.ranges[0].port = 62999;
    EXPECT_EQ(restart_key(kRunning, xdp_moved, kRetention), "");
    Config nft = kRunning;
    nft.interfaces[0].gate = xk::policy::GateKind::nftables;
    Config moved = nft;
    moved.ranges[0].port = 62999;
    EXPECT_EQ(restart_key(nft, moved, kRetention),
              "ranges (the knock ports and transports of an nftables gate)");
    Config secret = nft;
    secret.ranges[0].secrets[0].label = "rotated";
    EXPECT_EQ(restart_key(nft, secret, kRetention), "");
}
