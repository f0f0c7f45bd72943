#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "gate/ports.hpp"
#include "expect_config_error.hpp"
#include "policy/config.hpp"

using xk::policy::ConfigError;
using xk::policy::parse_config;
using namespace xk::policy;

namespace {

const char *kGood = R"({
  "interfaces": [{"name": "eth0", "xdp_mode": "generic"}],
  "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "nas", "port": "tcp/445"}],
  "ranges": [
    {"name": "admins", "method": "plain", "port": 62201, "timeout": 45,
     "sources": ["192.0.2.0/24", "2001:db8::/32"], "open": ["tcp/22"],
     "secrets": [{"label": "new", "secret": "s3cret-knock"},
                 {"label": "old", "secret_base64": "AAECAw=="}]},
    {"name": "fko", "method": "fko", "open": ["*"],
     "secrets": [{"label": "k", "key": "passphrase", "hmac_key_base64": "aGVsbG8=", "hmac": "sha512"}]}
  ]
})";

std::string with(const std::string &from, const std::string &to) {
    std::string s = kGood;
    auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
}

}  // namespace

TEST(Config, ParsesEveryField) {
    auto c = parse_config(kGood);
    ASSERT_EQ(c.interfaces.size(), 1u);
    EXPECT_EQ(c.interfaces[0].mode, xk::policy::XdpMode::generic);
    ASSERT_EQ(c.ranges.size(), 2u);
    const auto &r = c.ranges[0];
    EXPECT_EQ(r.timeout_s, 45u);
    EXPECT_EQ(r.port, 62201);
    ASSERT_EQ(r.secrets.size(), 2u);
    EXPECT_EQ(r.secrets[0].label, "new");
    EXPECT_EQ(std::string(r.secrets[0].plain.begin(), r.secrets[0].plain.end()), "s3cret-knock");
    EXPECT_EQ(r.secrets[1].plain, (std::vector<uint8_t>{0, 1, 2, 3}));
    ASSERT_EQ(r.open.size(), 1u);
    EXPECT_EQ(r.open[0].proto, 6);
    EXPECT_EQ(r.open[0].port, 22);
    EXPECT_EQ(c.ranges[1].open[0].proto, 0);  // "*"
    EXPECT_EQ(c.ranges[1].port, 62201);       // default
    EXPECT_EQ(c.ranges[1].proof_time_s, 120u);
    EXPECT_EQ(c.ranges[1].secrets[0].fko.hmac, xk::spa::HmacType::sha512);
    EXPECT_EQ(c.ranges[1].secrets[0].fko.mode, xk::spa::Mode::cbc);
    EXPECT_EQ(c.ranges[1].secrets[0].fko.hmac_key, (std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}));
}

TEST(Config, NamesTheKeyAndTheProblem) {
    expect_error("{", "config: JSON syntax error at line 1, column 2");
    expect_error(with("\"xdp_mode\": \"generic\"", "\"xdp_mode\": \"turbo\""),
                 "interfaces[0].xdp_mode");
    // What no Linux interface can be called (a ':' alias, white space, '/') is refused at
    // load, not when the gate cannot attach.
    for (const char *bad : {"eth0:1", "eth 0", "a/b", "..", "a-very-long-name0"})
        expect_error(with("\"name\": \"eth0\"", std::string("\"name\": \"") + bad + "\""),
                     "interfaces[0].name");
    expect_error(with("\"timeout\": 45", "\"timeout\": 0"), "ranges[0].timeout");
    expect_error(with("\"timeout\": 45", "\"timeuot\": 45"), "ranges[0].timeuot: unknown key");
    expect_error(with("\"192.0.2.0/24\"", "\"192.0.2.0/33\""), "ranges[0].sources[0]");
    expect_error(with("\"open\": [\"tcp/22\"]", "\"open\": [\"tcp/2222\"]"), "ranges[0].open[0]");
    expect_error(with("\"open\": [\"tcp/22\"]", "\"open\": []"), "ranges[0].open");
    expect_error(with("\"method\": \"plain\"", "\"method\": \"gpg\""), "ranges[0].method");
    expect_error(with("\"secret_base64\": \"AAECAw==\"", "\"secret_base64\": \"!!\""),
                 "ranges[0].secrets[1].secret_base64");
    expect_error(with("\"hmac\": \"sha512\"", "\"hmac\": \"crc32\""), "ranges[1].secrets[0].hmac");
    expect_error(with("\"name\": \"fko\"", "\"name\": \"admins\""), "ranges[1].name");
    expect_error(with("\"port\": \"tcp/445\"", "\"port\": \"*\""), "services[1].port");
}

// "transports" (fwknop's -P): udp by default; udpraw is udp on the wire; tcp (a listening
// socket scans would find) is refused with the reason; a tcpraw knock port is never a
// protected TCP service.
TEST(Config, KnockTransports) {
    EXPECT_EQ(parse_config(kGood).ranges[0].transports, uint8_t(xk::policy::Transport::udp));
    const auto c = parse_config(
        with("\"method\": \"plain\",",
             "\"method\": \"plain\", \"transports\": [\"udpraw\", \"tcpraw\", \"icmp\"],"));
    const auto &r = c.ranges[0];
    EXPECT_TRUE(r.takes(xk::policy::Transport::udp));
    EXPECT_TRUE(r.takes(xk::policy::Transport::tcp));
    EXPECT_TRUE(r.takes(xk::policy::Transport::icmp));
    const auto table = xk::gate::port_table(c);
    EXPECT_EQ(table[62201].flags, XK_PORT_KNOCK_UDP | XK_PORT_KNOCK_TCP);
    EXPECT_EQ(table[0].flags, XK_PORT_KNOCK_ICMP);
    EXPECT_NE(table[0].knock_shapes, 0);  // the plain range's secrets' shapes
    const auto said = xk::policy::config_warnings(c);
    EXPECT_TRUE(std::any_of(said.begin(), said.end(), [](const std::string &w) {
        return w.find("range admins: plain knocks over icmp") == 0;
    }));
    auto transports = [](const std::string &list) {
        return with("\"method\": \"plain\",",
                    "\"method\": \"plain\", \"transports\": " + list + ",");
    };
    expect_error(transports("[\"tcp\"]"), "ranges[0].transports[0]: tcp needs a listening");
    expect_error(transports("[\"smtp\"]"), "ranges[0].transports[0]");
    expect_error(transports("[]"), "ranges[0].transports");
    const std::string tcpService = with("\"port\": \"tcp/445\"", "\"port\": \"tcp/62201\"");
    EXPECT_NO_THROW(parse_config(tcpService));  // no range takes tcpraw knocks there
    const std::string both = tcpService.substr(0, tcpService.find("\"method\": \"plain\",")) +
                             "\"method\": \"plain\", \"transports\": [\"tcpraw\"]," +
                             tcpService.substr(tcpService.find("\"method\": \"plain\",") + 18);
    expect_error(both, "services[1].port: tcp/62201 is the knock port of range admins");
}

// "http" (fwknop -P http): the knock port is a web server's. Its "GET /" segments are copied
// and passed; it is never a protected service nor a tcpraw port, and takes fko only.
TEST(Config, HttpTransport) {
    auto fko_http = [](const std::string &port) {
        return with("\"name\": \"fko\", \"method\": \"fko\",",
                    "\"name\": \"fko\", \"method\": \"fko\", \"port\": " + port +
                        ", \"transports\": [\"udp\", \"http\"],");
    };
    const auto c = parse_config(fko_http("8080"));
    EXPECT_TRUE(c.ranges[1].takes(xk::policy::Transport::http));
    EXPECT_FALSE(c.http_x_forwarded_for);
    EXPECT_EQ(xk::gate::port_table(c)[8080].flags, XK_PORT_KNOCK_UDP | XK_PORT_KNOCK_HTTP);
    EXPECT_TRUE(parse_config(with("\"services\":", "\"http_x_forwarded_for\": true, \"services\":"))
                    .http_x_forwarded_for);
    expect_error(fko_http("445"), "services[1].port: tcp/445 is the knock port of range fko");
    expect_error(
        with("\"method\": \"plain\",", "\"method\": \"plain\", \"transports\": [\"http\"],"),
        "ranges[0].transports: http carries fwknop SPA: only fko ranges take it");
    std::string raw = fko_http("8080");  // and admins takes tcpraw knocks on tcp/8080
    raw.replace(raw.find("\"port\": 62201"), 13, "\"port\": 8080, \"transports\": [\"tcpraw\"]");
    expect_error(raw, "ranges[1].transports: http on tcp/8080, where range admins takes tcpraw");
}

// UDP services: gated like TCP ones, never on a knock port, never waking a host (no SYN to
// wait for); their flows' idle timeouts are the config's.
TEST(Config, UdpServices) {
    const std::string udp = with("\"port\": \"tcp/445\"", "\"port\": \"udp/445\"");
    const auto c = parse_config(udp);
    EXPECT_EQ(c.services[1].port, (xk::policy::PortRef{17, 445}));
    EXPECT_EQ(xk::gate::port_table(c)[445].flags, XK_PORT_PROTECT_UDP);
    EXPECT_EQ(c.udp_timeout_s, 30u);
    EXPECT_EQ(c.udp_stream_timeout_s, 120u);
    expect_error(with("\"port\": \"tcp/445\"", "\"port\": \"udp/62201\""),
                 "services[1].port: udp/62201 is the knock port of range");
    const auto timed = parse_config(
        with("\"services\"", "\"udp_timeout\": 60, \"udp_stream_timeout\": 600, \"services\""));
    EXPECT_EQ(timed.udp_timeout_s, 60u);
    EXPECT_EQ(timed.udp_stream_timeout_s, 600u);
    expect_error(
        with("\"services\"", "\"udp_timeout\": 60, \"udp_stream_timeout\": 30, \"services\""),
        "config.udp_stream_timeout");
}

TEST(Config, RefusesSecretsReadableByOthers) {
    char path[] = "/tmp/xk-config-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, kGood, strlen(kGood)), static_cast<ssize_t>(strlen(kGood)));
    close(fd);
    chmod(path, 0600);
    EXPECT_NO_THROW(xk::policy::load_config(path));
    chmod(path, 0640);
    try {
        xk::policy::load_config(path);
        ADD_FAILURE() << "a group-readable secret file was accepted";
    } catch (const ConfigError &e) {
        EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
    }
    unlink(path);
}

TEST(Config, ExampleConfigIsValid) {
    std::ifstream in(std::string(XDPKNOCK_SOURCE_DIR) + "/examples/xdpknock.json");
    ASSERT_TRUE(in);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NO_THROW(parse_config(text));
}

TEST(Config, KnockRate) {
    auto defaults = parse_config(kGood);
    EXPECT_EQ(defaults.knock_rate.per_source_pps, 20u);
    EXPECT_EQ(defaults.knock_rate.burst, 40u);
    auto set = parse_config(
        with("\"ranges\":", "\"knock_rate\": {\"per_source_pps\": 5, \"burst\": 8}, \"ranges\":"));
    EXPECT_EQ(set.knock_rate.per_source_pps, 5u);
    EXPECT_EQ(set.knock_rate.burst, 8u);
    auto half = parse_config(with("\"ranges\":", "\"knock_rate\": {\"burst\": 1}, \"ranges\":"));
    EXPECT_EQ(half.knock_rate.per_source_pps, 20u);
    EXPECT_EQ(half.knock_rate.burst, 1u);

    auto bad = [](const std::string &rate) {
        return with("\"ranges\":", "\"knock_rate\": " + rate + ", \"ranges\":");
    };
    expect_error(bad("20"), "knock_rate: must be an object");
    expect_error(bad("{\"per_source_pps\": 0}"), "knock_rate.per_source_pps");
    expect_error(bad("{\"per_source_pps\": 1000001}"), "knock_rate.per_source_pps");
    expect_error(bad("{\"per_source_pps\": \"20\"}"), "knock_rate.per_source_pps");
    expect_error(bad("{\"burst\": 0}"), "knock_rate.burst");
    expect_error(bad("{\"burst\": -1}"), "knock_rate.burst");
    expect_error(bad("{\"bursts\": 4}"), "knock_rate.bursts: unknown key");
}

// The ports map entries the gate writes from a config (gate/ports.cpp).
TEST(Config, KnockPortFilters) {
    const std::string text =
        with("\"ranges\": [",
             "\"knock_rate\": {\"per_source_pps\": 4, \"burst\": 3}, \"ranges\": ["
             R"({"name": "plain2", "method": "plain", "port": 62205, "open": ["*"],
            "secrets": [{"label": "a", "secret": "0123456789"},
                        {"label": "far", "secret": ")" +
                 std::string(100, 'f') +
                 R"("}]},)"
                 R"({"name": "shared", "method": "plain", "open": ["*"],
            "secrets": [{"label": "s", "secret": "sixteen-bytes-ok"}]},)");
    auto table = xk::gate::port_table(parse_config(text));
    ASSERT_EQ(table.size(), 65536u);

    const xk_port &plain = table[62201 + 0];  // "admins": plain, 12 and 4 bytes, + fko + shared
    EXPECT_EQ(plain.flags, XK_PORT_KNOCK_UDP);
    EXPECT_EQ(plain.knock_shapes, XK_KNOCK_FKO | XK_KNOCK_PLAIN);
    EXPECT_EQ(plain.plain_min_len, 4);
    EXPECT_EQ(plain.plain_max_len, 16);
    EXPECT_EQ(plain.plain_lens, (1ull << 0) | (1ull << 8) | (1ull << 12));
    EXPECT_EQ(plain.rate_interval_ns, 250'000'000u);
    EXPECT_EQ(plain.rate_burst_ns, 500'000'000u);

    const xk_port &wide = table[62205];  // 10 and 100 bytes: past the bitmap window
    EXPECT_EQ(wide.knock_shapes, XK_KNOCK_PLAIN);
    EXPECT_EQ(wide.plain_min_len, 10);
    EXPECT_EQ(wide.plain_max_len, 100);
    EXPECT_EQ(wide.plain_lens, 1ull);

    EXPECT_EQ(table[22].flags, XK_PORT_PROTECT_TCP);
    EXPECT_EQ(table[22].knock_shapes, 0);
    EXPECT_EQ(table[445].flags, XK_PORT_PROTECT_TCP);
    EXPECT_EQ(table[62202].flags, 0);
}

TEST(Config, KnockPortFiltersLowerMinimumShiftsTheBitmap) {
    // Secrets listed longest first: the bitmap is rebased on each new minimum.
    const std::string text = with("{\"label\": \"new\", \"secret\": \"s3cret-knock\"}",
                                  "{\"label\": \"new\", \"secret\": \"s3cret-knock\"}, "
                                  "{\"label\": \"x\", \"secret\": \"ab\"}");
    auto table = xk::gate::port_table(parse_config(text));
    const xk_port &e = table[62201];
    EXPECT_EQ(e.plain_min_len, 2);
    EXPECT_EQ(e.plain_max_len, 12);
    EXPECT_EQ(e.plain_lens, (1ull << 0) | (1ull << 2) | (1ull << 10));
}

TEST(Config, ASyntaxErrorNeverQuotesTheSecret) {
    try {
        parse_config(R"({"ranges": [{"secrets": [{"secret": "TopSecretPass" ]})");
        FAIL() << "accepted broken JSON";
    } catch (const ConfigError &e) {
        EXPECT_EQ(std::string(e.what()).find("TopSecret"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("config: JSON syntax error at line 1, column "),
                  std::string::npos)
            << e.what();
    }
}

TEST(Config, RefusesASymlinkedConfig) {
    char dir[] = "/tmp/xk-config-link-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    std::string real = std::string(dir) + "/real.json", link = std::string(dir) + "/link.json";
    std::ofstream(real) << kGood;
    chmod(real.c_str(), 0600);
    ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
    EXPECT_NO_THROW(xk::policy::load_config(real));
    EXPECT_THROW(xk::policy::load_config(link), ConfigError);
    unlink(link.c_str());
    unlink(real.c_str());
    rmdir(dir);
}

TEST(Config, MapLimits) {
    auto defaults = parse_config(kGood);
    EXPECT_EQ(defaults.authorized_max, 65536u);
    EXPECT_EQ(defaults.flow_idle_timeout_s, 7200u);
    auto set = parse_config(
        with("\"ranges\":", "\"authorized_max\": 1048576, \"flow_idle_timeout\": 10, \"ranges\":"));
    EXPECT_EQ(set.authorized_max, 1048576u);
    EXPECT_EQ(set.flow_idle_timeout_s, 10u);

    auto top = [](const std::string &kv) { return with("\"ranges\":", kv + ", \"ranges\":"); };
    expect_error(top("\"authorized_max\": 1023"), "config.authorized_max");
    expect_error(top("\"authorized_max\": 1048577"), "config.authorized_max");
    expect_error(top("\"authorized_max\": \"65536\""), "config.authorized_max");
    expect_error(top("\"flow_idle_timeout\": 9"), "config.flow_idle_timeout");
    expect_error(top("\"flow_idle_timeout\": 604801"), "config.flow_idle_timeout");
}

TEST(Config, MemorySizes) {
    auto defaults = parse_config(kGood);
    EXPECT_EQ(defaults.replay_capacity, 65536u);
    EXPECT_EQ(defaults.umem_frames, 1024u);
    auto set = parse_config(
        with("\"ranges\":", "\"replay_capacity\": 4096, \"umem_frames\": 512, \"ranges\":"));
    EXPECT_EQ(set.replay_capacity, 4096u);
    EXPECT_EQ(set.umem_frames, 512u);

    auto top = [](const std::string &kv) { return with("\"ranges\":", kv + ", \"ranges\":"); };
    expect_error(top("\"replay_capacity\": 1023"), "config.replay_capacity");
    expect_error(top("\"umem_frames\": 32"), "config.umem_frames");
    expect_error(top("\"umem_frames\": 1000"), "config.umem_frames");
}

// Metrics are off unless asked for, and served to loopback only unless allow_remote says so.
TEST(Config, Metrics) {
    EXPECT_FALSE(parse_config(kGood).metrics.enabled());
    auto top = [](const std::string &kv) { return with("\"ranges\":", kv + ", \"ranges\":"); };
    auto v4 = parse_config(top(R"("metrics": {"listen": "127.0.0.1:9642"})"));
    EXPECT_TRUE(v4.metrics.enabled());
    EXPECT_EQ(v4.metrics.host, "127.0.0.1");
    EXPECT_EQ(v4.metrics.port, 9642);
    auto v6 = parse_config(top(R"("metrics": {"listen": "[::1]:9100"})"));
    EXPECT_EQ(v6.metrics.host, "::1");
    EXPECT_EQ(v6.metrics.port, 9100);
    auto remote =
        parse_config(top(R"("metrics": {"listen": "0.0.0.0:9642", "allow_remote": true})"));
    EXPECT_EQ(remote.metrics.host, "0.0.0.0");

    expect_error(top(R"("metrics": {"listen": "0.0.0.0:9642"})"), "metrics.listen");
    expect_error(top(R"("metrics": {"listen": "[::]:9642"})"), "metrics.listen");
    expect_error(top(R"("metrics": {"listen": "::1:9642"})"), "metrics.listen");
    expect_error(top(R"("metrics": {"listen": "127.0.0.1"})"), "metrics.listen");
    expect_error(top(R"("metrics": {"listen": "127.0.0.1:0"})"), "metrics.listen");
    expect_error(top(R"("metrics": {"listen": "127.0.0.1:65536"})"), "metrics.listen");
    expect_error(top(R"("metrics": {"listen": "localhost:9642"})"), "metrics.listen");
    expect_error(top(R"("metrics": {"port": 9642})"), "metrics");
    expect_error(top(R"("metrics": "127.0.0.1:9642")"), "config.metrics");
}

// A cluster is off unless asked for; every key is checked and named when wrong.
TEST(Config, Cluster) {
    EXPECT_FALSE(parse_config(kGood).cluster.enabled());
    auto top = [](const std::string &kv) { return with("\"ranges\":", kv + ", \"ranges\":"); };
    auto tcp = parse_config(top(R"("cluster": {"redis": "127.0.0.1:6379", "node": "gw-a"})"));
    EXPECT_TRUE(tcp.cluster.enabled());
    EXPECT_EQ(tcp.cluster.node, "gw-a");
    EXPECT_EQ(tcp.cluster.prefix, "xdpknock");
    EXPECT_EQ(tcp.cluster.timeout_ms, 5u);
    auto unix_ = parse_config(top(
        R"("cluster": {"redis": "unix:/run/redis/redis.sock", "prefix": "site1", "timeout_ms": 20,
                       "password_file": "/etc/xdpknock/redis.pw", "tls": false})"));
    EXPECT_EQ(unix_.cluster.redis, "unix:/run/redis/redis.sock");
    EXPECT_EQ(unix_.cluster.password_file, "/etc/xdpknock/redis.pw");
    EXPECT_FALSE(unix_.cluster.node.empty());  // the host name
    EXPECT_EQ(unix_.cluster.timeout_ms, 20u);

    expect_error(top(R"("cluster": {"node": "gw-a"})"), "cluster.redis");
    expect_error(top(R"("cluster": {"redis": "unix:redis.sock"})"), "cluster.redis");
    expect_error(top(R"("cluster": {"redis": "127.0.0.1"})"), "cluster.redis");
    expect_error(top(R"("cluster": {"redis": "::1:6379"})"), "cluster.redis");
    expect_error(top(R"("cluster": {"redis": "redis.example:6379"})"), "cluster.redis");
    EXPECT_EQ(parse_config(top(R"("cluster": {"redis": "[::1]:6380"})")).cluster.host, "::1");
    expect_error(top(R"("cluster": {"redis": "127.0.0.1:6379", "node": "gw a"})"), "cluster.node");
    expect_error(top(R"("cluster": {"redis": "127.0.0.1:6379", "prefix": "a:b"})"),
                 "cluster.prefix");
    expect_error(top(R"("cluster": {"redis": "127.0.0.1:6379", "timeout_ms": 0})"),
                 "cluster.timeout_ms");
    expect_error(top(R"("cluster": {"redis": "127.0.0.1:6379", "tls": true})"), "cluster.tls");
    expect_error(top(R"("cluster": {"redis": "127.0.0.1:6379", "password": "x"})"), "cluster");
}

// Default quotas: every range a share of authorized_max / (ranges + 1), in sources,
// divided by the entries one source takes; one share stays free for the others.
TEST(Config, MaxSourcesDefaultsLeaveAShareFree) {
    auto c = parse_config(kGood);
    ASSERT_EQ(c.ranges.size(), 2u);
    const uint32_t share = 65536 / 3;
    EXPECT_EQ(xk::policy::entries_per_source(c.ranges[0], c), 1u);  // tcp/22
    EXPECT_EQ(xk::policy::entries_per_source(c.ranges[1], c), 2u);  // fko "*": 2 services
    EXPECT_EQ(c.ranges[0].max_sources, share);
    EXPECT_EQ(c.ranges[1].max_sources, share / 2);
    uint64_t used = 0;
    for (const auto &r : c.ranges) {
        used += uint64_t{r.max_sources} * xk::policy::entries_per_source(r, c);
    }
    EXPECT_LE(used, c.authorized_max - share);  // one range's share is always free

    auto small = parse_config(with("\"ranges\":", "\"authorized_max\": 1024, \"ranges\":"));
    EXPECT_EQ(small.ranges[0].max_sources, 1024u / 3);
}

TEST(Config, MaxSourcesExplicitMustFitTheMap) {
    auto c = parse_config(with("\"timeout\": 45", "\"timeout\": 45, \"max_sources\": 40000"));
    EXPECT_EQ(c.ranges[0].max_sources, 40000u);
    EXPECT_EQ(c.ranges[1].max_sources, 65536u / 3 / 2);  // the other keeps its default

    expect_error(with("\"timeout\": 45", "\"timeout\": 45, \"max_sources\": 0"),
                 "ranges[0].max_sources");
    expect_error(with("\"timeout\": 45", "\"timeout\": 45, \"max_sources\": -1"),
                 "ranges[0].max_sources");
    // 60000 + the fko range's 2 × 10922 entries > 65536.
    expect_error(with("\"timeout\": 45", "\"timeout\": 45, \"max_sources\": 60000"),
                 "ranges[0].max_sources");
    // The fko range asks 30000 sources × 2 services: it is the one named.
    expect_error(with("\"open\": [\"*\"]", "\"open\": [\"*\"], \"max_sources\": 30000"),
                 "ranges[1].max_sources");
    // Defaults alone cannot fit: 1000 protected services for the fko "*" range.
    std::string services;
    for (int p = 1000; p < 2000; ++p) {
        services += R"({"name": "s)" + std::to_string(p) + R"(", "port": "tcp/)" +
                    std::to_string(p) + "\"},";
    }
    expect_error(with("\"services\": [", "\"authorized_max\": 1024, \"services\": [" + services),
                 "config.authorized_max");
}

TEST(Config, ReadSecretFileRefusesWhatOthersCanRead) {
    char path[] = "/tmp/xk-secret-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "KEY: x\n", 7), 7);
    close(fd);
    chmod(path, 0600);
    EXPECT_EQ(xk::policy::read_secret_file(path), "KEY: x\n");
    for (mode_t mode : {0640, 0604, 0660, 0610}) {
        chmod(path, mode);
        EXPECT_THROW(xk::policy::read_secret_file(path), ConfigError) << std::oct << mode;
    }
    unlink(path);
    EXPECT_THROW(xk::policy::read_secret_file(path), ConfigError);  // gone
}

TEST(Config, RangeHooks) {
    auto c = parse_config(with("\"timeout\": 45", R"("timeout": 45, "hooks": {
        "on_authorize": ["/bin/echo", "%IP%", "ports=%PORTS%", "%USER%"],
        "on_expire": ["/bin/true", "%RANGE%"], "timeout_s": 3})"));
    const auto &h = c.ranges[0].hooks;
    EXPECT_EQ(h.on_authorize,
              (std::vector<std::string>{"/bin/echo", "%IP%", "ports=%PORTS%", "%USER%"}));
    EXPECT_EQ(h.on_expire, (std::vector<std::string>{"/bin/true", "%RANGE%"}));
    EXPECT_EQ(h.timeout_s, 3u);
    EXPECT_TRUE(c.ranges[1].hooks.empty());
    EXPECT_EQ(c.ranges[1].hooks.timeout_s, 10u) << "the default";

    auto hook = [](const std::string &hooks) {
        return with("\"timeout\": 45", "\"timeout\": 45, \"hooks\": " + hooks);
    };
    expect_error(hook(R"({"on_authorize": "echo hi"})"),
                 "ranges[0].hooks.on_authorize: must be a command");
    expect_error(hook(R"({"on_authorize": ["echo", "%IP%"]})"),
                 "ranges[0].hooks.on_authorize[0]: must be an absolute path");
    expect_error(hook(R"({"on_authorize": ["/nonexistent/notify"]})"),
                 "ranges[0].hooks.on_authorize[0]: /nonexistent/notify is not an executable");
    expect_error(hook(R"({"on_expire": ["/bin/true", "%SECRET%"]})"),
                 "ranges[0].hooks.on_expire[1]: unknown placeholder %SECRET%");
    expect_error(hook(R"({"on_start": ["/bin/true"]})"), "ranges[0].hooks.on_start: unknown key");
    // Placeholders back to back: each is read whole, the text between is no name.
    EXPECT_NO_THROW(
        parse_config(hook(R"({"on_expire": ["/bin/true", "fw_%IP%_%PORT%", "100%"]})")));
    expect_error(hook(R"({"on_expire": ["/bin/true"], "timeout_s": 0})"),
                 "ranges[0].hooks.timeout_s");
}

TEST(Config, Gate) {
    EXPECT_EQ(parse_config(kGood).interfaces[0].gate, GateKind::xdp);
    auto nft = parse_config(with("\"xdp_mode\": \"generic\"", "\"gate\": \"nftables\""));
    EXPECT_EQ(nft.interfaces[0].gate, GateKind::nftables);
    expect_error(with("\"xdp_mode\": \"generic\"", "\"gate\": \"iptables\""),
                 "interfaces[0].gate: must be xdp or nftables");
    // What only the XDP gate does is refused on nftables, naming the key and the range.
    const std::string nft_gate = with("\"xdp_mode\": \"generic\"", "\"gate\": \"nftables\"");
    auto swap = [&](const std::string &from, const std::string &to) {
        std::string s = nft_gate;
        return s.replace(s.find(from), from.size(), to);
    };
    expect_error(swap("\"ranges\": [", R"("ranges": [
        {"name": "seq", "method": "sequence", "sequence": ["tcp/7000", "tcp/8000"], "open": ["tcp/22"]},)"),
                 "interfaces[0].gate: nftables: range seq is a port sequence");
    expect_error(swap("\"open\": [\"*\"],", "\"open\": [\"*\"], \"transports\": [\"http\"],"),
                 "interfaces[0].gate: nftables: range fko takes http knocks");
    expect_error(swap("\"services\":", R"("hosts": [{"name": "nas", "mac": "02:00:00:00:00:01",
        "ipv4": "192.0.2.9", "interface": "eth1"}], "services":)"),
                 "interfaces[0].gate: nftables: Wake-on-LAN");
}

TEST(Config, NatAccess) {
    auto fko = [](const std::string &keys) {
        return with("\"open\": [\"*\"],", "\"open\": [\"*\"], " + keys + ",");
    };
    auto c = parse_config(fko(R"("nat": {"to": "192.168.1.100:22"}, "snat": "masquerade")"));
    const Nat &nat = c.ranges[1].nat;
    ASSERT_TRUE(nat.to);
    EXPECT_EQ(format_endpoint(*nat.to), "192.168.1.100:22");
    EXPECT_EQ(nat.snat, Snat::masquerade);
    EXPECT_FALSE(c.ranges[0].nat.enabled());
    auto v6 = parse_config(fko(R"("nat": {"to": "[fd00::5]:3389"}, "snat": "198.51.100.1")"));
    EXPECT_EQ(format_endpoint(*v6.ranges[1].nat.to), "[fd00::5]:3389");
    EXPECT_EQ(v6.ranges[1].nat.snat, Snat::address);
    EXPECT_EQ(format_address(v6.ranges[1].nat.snat_address), "198.51.100.1");
    auto client = parse_config(
        fko(R"("allow_client_nat": true, "nat_targets": ["192.168.1.0/24", "fd00::/64"])"));
    EXPECT_TRUE(client.ranges[1].nat.allow_client);
    EXPECT_EQ(client.ranges[1].nat.targets.size(), 2u);

    expect_error(fko(R"("nat": {"to": "192.168.1.100"})"), "ranges[1].nat.to: needs a port");
    expect_error(fko(R"("nat": {"to": "nas.lan:22"})"), "ranges[1].nat.to: the host must be an IP");
    expect_error(fko(R"("nat": {"to": "fd00::5:22"})"), "ranges[1].nat.to: write an IPv6");
    expect_error(fko(R"("nat": {"to": "192.168.1.100:0"})"), "ranges[1].nat.to: the port");
    expect_error(fko(R"("nat": {"to": "10.0.0.1:22", "via": 1})"), "ranges[1].nat.via: unknown");
    expect_error(fko(R"("snat": "masquerade")"), "ranges[1].snat: translates the source");
    expect_error(fko(R"("nat": {"to": "10.0.0.1:22"}, "snat": "eth0")"),
                 "ranges[1].snat: must be \"masquerade\" or an IP address");
    expect_error(fko(R"("allow_client_nat": true)"), "ranges[1].nat_targets: allow_client_nat");
    expect_error(fko(R"("nat_targets": ["10.0.0.0/8"])"), "ranges[1].nat_targets: only used");
    expect_error(fko(R"("allow_client_nat": true, "nat_targets": ["10.0.0.0/33"])"),
                 "ranges[1].nat_targets[0]");
    // A client's NAT request is an fko message: a plain range cannot carry one.
    expect_error(with("\"open\": [\"tcp/22\"],", R"("open": ["tcp/22"], "allow_client_nat": true,
                      "nat_targets": ["10.0.0.0/8"],)"),
                 "ranges[0].allow_client_nat: NAT access requests come in fko knocks only");
}

TEST(Config, Endpoint) {
    EXPECT_EQ(parse_endpoint("10.1.2.3:80")->port, 80);
    EXPECT_EQ(format_endpoint(*parse_endpoint("[::1]:9642")), "[::1]:9642");
    std::string why;
    EXPECT_FALSE(parse_endpoint("10.1.2.3:65536", &why));
    EXPECT_EQ(why, "the port must be 1..65535");
    EXPECT_FALSE(parse_endpoint("10.1.2.3:22x", &why));
    EXPECT_FALSE(parse_endpoint("::1:22", &why));
    EXPECT_EQ(why, "write an IPv6 address in brackets: [::1]:22");
    EXPECT_FALSE(parse_endpoint("host:22", &why));
    EXPECT_EQ(why, "the host must be an IP address");
}
