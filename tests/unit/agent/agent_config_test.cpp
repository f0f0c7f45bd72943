#include "agent/agent_config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "policy/config.hpp"

using xk::agent::AllowIp;
using xk::agent::parse_agent_config;
using xk::policy::ConfigError;

namespace {

const char *kKey = "QRsABNTe8zzTKsyCAmlR53YTp1Ya/pYYWlAg6pAVcAY=";
const char *kHmac =
    "Nj/rYCtoNVB+tic+i8xU5+/0C7spAoa+DgIn1oM98JOlq7rTW0zr5/pC7fhcnzKiWi7PUma3PUao0MKMMW5Ylg==";

xk::cli::RcSettings no_rc(const std::string &name) {
    throw ConfigError("no rc file in this test: " + name);
}

std::string fko_remote(const std::string &extra = "") {
    return std::string(
               R"({"name": "home", "gateway": "203.0.113.7", "services": ["tcp/22", "tcp/3389"],
        "method": "fko", "port": 62201, "key_base64": ")") +
           kKey + R"(", "hmac_key_base64": ")" + kHmac + R"(", "hmac": "sha256")" + extra + "}";
}

std::string refusal(const std::string &text) {
    try {
        parse_agent_config(text, no_rc);
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "";
}

TEST(AgentConfig, ReadsTheIssuesExample) {
    auto c = parse_agent_config(R"({"remotes": [)" + fko_remote(R"(, "mode": "cbc",
        "allow_ip": "source", "knock_delay_ms": 5, "knock_repeat_ms": 500,
        "knock_timeout_s": 10, "fresh_s": 25)") +
                                    "]}",
                                no_rc);
    ASSERT_EQ(c.remotes.size(), 1u);
    const auto &r = c.remotes[0];
    EXPECT_EQ(r.name, "home");
    EXPECT_EQ(r.gateway, "203.0.113.7");
    EXPECT_EQ(r.tcp_ports, (std::vector<uint16_t>{22, 3389}));
    EXPECT_EQ(r.port, 62201);
    EXPECT_EQ(r.allow, AllowIp::source);
    EXPECT_EQ(r.delay_ms, 5u);
    EXPECT_EQ(r.repeat_ms, 500u);
    EXPECT_EQ(r.fresh_s, 25u);
    EXPECT_EQ(r.secret.fko.key.size(), 32u);
    EXPECT_EQ(r.secret.fko.hmac, xk::spa::HmacType::sha256);
}

TEST(AgentConfig, PlainRemoteAndDefaults) {
    auto c = parse_agent_config(
        R"({"remotes": [{"name": "nas", "gateway": "nas.example", "services": ["tcp/443"],
            "method": "plain", "secret": "open sesame", "allow_ip": "any"}]})",
        no_rc);
    const auto &r = c.remotes[0];
    EXPECT_EQ(std::string(r.secret.plain.begin(), r.secret.plain.end()), "open sesame");
    EXPECT_EQ(r.allow, AllowIp::any);
    EXPECT_EQ(r.port, 62201);
    EXPECT_EQ(r.timeout_s, 10u);
    EXPECT_EQ(r.fresh_s, 25u);
}

TEST(AgentConfig, TakesARemoteFromAFwknoprcStanza) {
    auto rc = [](const std::string &name) {
        EXPECT_EQ(name, "home");
        xk::cli::RcSettings s;
        s.server = "gw.example";
        s.access = std::vector<std::string>{"tcp/22"};
        s.port = 40001;
        s.secret = xk::policy::Secret{};
        s.secret->fko.key.assign(32, 7);
        s.allow_source = true;
        return s;
    };
    auto c =
        parse_agent_config(R"({"remotes": [{"name": "h", "fwknoprc": "home", "fresh_s": 5}]})", rc);
    const auto &r = c.remotes[0];
    EXPECT_EQ(r.gateway, "gw.example");
    EXPECT_EQ(r.tcp_ports, std::vector<uint16_t>{22});
    EXPECT_EQ(r.port, 40001);
    EXPECT_EQ(r.allow, AllowIp::any);
    EXPECT_EQ(r.fresh_s, 5u);
}

TEST(AgentConfig, RefusalsNameTheKey) {
    EXPECT_EQ(refusal(R"({"remotes": [{"name": "x", "gateway": "g", "services": ["udp/1194"],
        "method": "plain", "secret": "s"}]})"),
              "remotes[0].services[0]: only a tcp/PORT service can wait for a knock (a SYN is "
              "what is held)");
    EXPECT_EQ(refusal(R"({"remotes": [{"name": "x", "gateway": "g", "services": ["tcp/22"],
        "method": "plain", "secret": "s", "colour": 1}]})"),
              "remotes[0].colour: unknown key");
    EXPECT_NE(refusal(R"({"remotes": [{"name": "x", "gateway": "g", "services": ["tcp/22"],
        "method": "plain", "key_base64": "AAAA"}]})")
                  .find("remotes[0].key_base64: unknown key"),
              std::string::npos);
    EXPECT_EQ(refusal(R"({"remotes": [)" + fko_remote(R"(, "allow_ip": "home.example")") + "]}"),
              "remotes[0].allow_ip: 'source', 'any' or an IPv4 or IPv6 address");
    EXPECT_EQ(refusal(R"({"remotes": [)" + fko_remote(R"(, "allow_ip": "2001:db8::1")") + "]}"), "")
        << "an IPv6 allow-IP is one an fko knock carries";
    EXPECT_EQ(
        refusal(R"({"remotes": [)" + fko_remote(R"(, "allow_ip": "::ffff:192.0.2.1")") + "]}"),
        "remotes[0].allow_ip: 'source', 'any' or an IPv4 or IPv6 address")
        << "an IPv4-mapped spelling no knock carries";
    EXPECT_EQ(refusal(R"({"remotes": []})"), "remotes: name at least one remote");
    EXPECT_EQ(refusal(R"({"remotes": [{"name": "h", "fwknoprc": "home"}]})"),
              "no rc file in this test: home");
    std::string e = refusal(R"({"remotes": [)" + fko_remote(R"(, "hmac": "sha1024")") + "]}");
    EXPECT_NE(e.find("remotes[0].hmac"), std::string::npos) << e;
    EXPECT_EQ(e.find(kKey), std::string::npos) << "never quote a key: " << e;
}

}  // namespace
