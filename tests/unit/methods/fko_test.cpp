// The fko method: its keys, its pre-filter shape, its warnings, what it tells the log, and
// its replay key (the verified HMAC tag, or the wire's SHA-256 without an HMAC).
// (Judging fko knocks end to end: tests/unit/policy/knock_policy_test.cpp.)

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "../policy/expect_config_error.hpp"
#include "methods/registry.hpp"
#include "policy/config.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "spa/fko_access.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_encode.hpp"
#include "spa/replay_digest.hpp"
#include "xdpknock/maps.h"

using namespace xk;

namespace {

std::string fko_text(const std::string &range_extra, const std::string &open = "\"*\"",
                     const std::string &secret = R"({"label": "k", "key": "passphrase"})") {
    return R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/443"},
                   {"name": "rdp", "port": "tcp/3389"}],
      "ranges": [{"name": "roam", "method": "fko", "open": [)" +
           open + "]" + range_extra + R"(, "secrets": [)" + secret + "]}]}";
}

policy::Config fko_config(const std::string &range_extra, const std::string &open = "\"*\"") {
    return policy::parse_config(fko_text(range_extra, open));
}

}  // namespace

TEST(FkoMethod, SecretsAreKeysWithHmacAndModeCheckedByKey) {
    auto c = policy::parse_config(
        fko_text("", "\"*\"",
                 R"({"label": "k", "key_base64": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "hmac_key": "hmac-key", "hmac": "sha384", "mode": "ctr"})"));
    const auto &s = c.ranges[0].secrets[0];
    EXPECT_EQ(s.fko.key.size(), 32u);
    EXPECT_EQ(s.fko.hmac, spa::HmacType::sha384);
    EXPECT_EQ(s.fko.mode, spa::Mode::ctr);
    EXPECT_TRUE(s.plain.empty());
    EXPECT_EQ(policy::parse_config(fko_text("")).ranges[0].secrets[0].fko.hmac,
              spa::HmacType::none);
    expect_error(fko_text("", "\"*\"", R"({"label": "k", "secret": "x"})"), "ranges[0].secrets[0]");
    expect_error(fko_text("", "\"*\"", R"({"label": "k", "key": "p", "hmac": "sha256"})"),
                 "ranges[0].secrets[0].hmac");
    expect_error(fko_text("", "\"*\"", R"({"label": "k", "key": "p", "mode": "xts"})"),
                 "ranges[0].secrets[0].mode");
    expect_error(fko_text("", "\"*\"", R"({"label": "k"})"), "ranges[0].secrets[0].key");
}

TEST(FkoMethod, ShapeIsFkoOnly) {
    auto c = fko_config("");
    xk_port e{};
    methods::method_of(c.ranges[0]).add_shape(c.ranges[0], e);
    EXPECT_EQ(e.knock_shapes, XK_KNOCK_FKO);
    EXPECT_EQ(e.plain_lens, 0u);
}

// GPG secrets: access.conf's GPG_* keywords as gpg_* keys, checked by key; their own XDP shape
// beside Rijndael's; a warning for each signature rule switched off.
TEST(FkoMethod, GpgSecretsAreGpgKeysCheckedByKey) {
    const std::string gpg =
        R"({"label": "g", "gpg_decrypt_id": "3DAF6B95F70233C338DDB3C42EA672FFFFA552D7",
        "gpg_home_dir": "/etc/xdpknock/gnupg", "gpg_decrypt_pw": "pw",
        "gpg_remote_ids": ["C1703B86"], "hmac_key": "h")";
    auto c = policy::parse_config(fko_text(R"(, "proof_ip": true, "gpg_per_second": 25)", "\"*\"",
                                           R"({"label": "k", "key": "p"}, )" + gpg + "}"));
    const auto &r = c.ranges[0];
    ASSERT_TRUE(r.secrets[1].fko.gpg);
    const auto &g = *r.secrets[1].fko.gpg;
    EXPECT_EQ(g.home_dir, "/etc/xdpknock/gnupg");
    EXPECT_EQ(g.decrypt_pw.size(), 2u);
    EXPECT_TRUE(g.require_sig);
    EXPECT_EQ(r.secrets[1].fko.hmac, spa::HmacType::sha256);
    EXPECT_FALSE(r.secrets[0].fko.gpg);
    EXPECT_EQ(r.gpg_per_second, 25u);
    ASSERT_TRUE(r.gpg_budget);
    xk_port e{};
    methods::method_of(r).add_shape(r, e);
    EXPECT_EQ(e.knock_shapes, XK_KNOCK_FKO | XK_KNOCK_GPG);
    EXPECT_TRUE(policy::config_warnings(c).empty());

    auto lax = policy::config_warnings(policy::parse_config(
        fko_text(R"(, "proof_ip": true)", "\"*\"",
                 gpg + R"(, "gpg_ignore_sig_verify_error": true}, )" +
                     gpg.substr(0, gpg.size() - 1) + R"(1", "gpg_require_sig": false})")));
    ASSERT_EQ(lax.size(), 2u);
    EXPECT_NE(lax[0].find("gpg_ignore_sig_verify_error"), std::string::npos);
    EXPECT_NE(lax[1].find("gpg_require_sig is off"), std::string::npos);

    const std::string id =
        R"({"label": "g", "gpg_decrypt_id": "3DAF6B95F70233C338DDB3C42EA672FFFFA552D7", )";
    expect_error(
        fko_text("", "\"*\"",
                 id + R"("key": "p", "gpg_allow_no_pw": true, "gpg_remote_ids": ["C1703B86"]})"),
        "ranges[0].secrets[0].key");
    expect_error(
        fko_text("", "\"*\"",
                 id + R"("mode": "cbc", "gpg_allow_no_pw": true, "gpg_remote_ids": ["C1703B86"]})"),
        "ranges[0].secrets[0].mode");
    expect_error(fko_text("", "\"*\"", id + R"("gpg_remote_ids": ["C1703B86"]})"),
                 "ranges[0].secrets[0]: GPG mode needs either gpg_decrypt_pw or gpg_allow_no_pw");
    expect_error(fko_text("", "\"*\"", id + R"("gpg_allow_no_pw": true})"),
                 "ranges[0].secrets[0]: a required signature needs the signers");
    expect_error(
        fko_text("", "\"*\"", R"({"label": "k", "key": "p", "gpg_remote_ids": ["C1703B86"]})"),
        "ranges[0].secrets[0].gpg_remote_ids");
    expect_error(fko_text(R"(, "gpg_per_second": 0)"), "ranges[0].gpg_per_second");
}

TEST(FkoMethod, AStarTakesOneEntryPerProtectedService) {
    auto star = fko_config("");
    EXPECT_EQ(policy::entries_per_source(star.ranges[0], star), 3u);
    auto listed = fko_config("", R"("tcp/22", "tcp/443")");
    EXPECT_EQ(policy::entries_per_source(listed.ranges[0], listed), 2u);
}

TEST(FkoMethod, ProofIpOffIsWarnedNamingTheRange) {
    auto off = policy::config_warnings(fko_config(""));
    ASSERT_EQ(off.size(), 1u);
    EXPECT_EQ(off[0],
              "range roam: proof_ip is off: whoever sees a knock on the path can resend it first "
              "from their own address");
    EXPECT_TRUE(policy::config_warnings(fko_config(R"(, "proof_ip": true)")).empty());
}

TEST(FkoMethod, KeepsReplaysAndWithoutATimeWindowForever) {
    auto windowed = fko_config(R"(, "proof_time": 90)");
    const auto &m = methods::method_of(windowed.ranges[0]);
    EXPECT_TRUE(m.uses_replay(windowed.ranges[0]));
    EXPECT_FALSE(m.replay_only_by_digest(windowed.ranges[0]));
    EXPECT_EQ(policy::KnockPolicy::replay_retention(windowed), 240);  // the 120 s floor, × 2
    auto forever = fko_config(R"(, "proof_time": 0)");
    EXPECT_TRUE(m.replay_only_by_digest(forever.ranges[0]));
    EXPECT_GT(policy::KnockPolicy::replay_retention(forever), int64_t{50} * 365 * 86400);
    // A worker's judge needs the replay cache: refused without one, fail closed.
    EXPECT_THROW(policy::KnockPolicy(windowed, nullptr), std::logic_error);
}

TEST(FkoMethod, TheLogNamesTheUser) {
    auto c = fko_config("");
    const auto &m = methods::method_of(c.ranges[0]);
    spa::FkoMessage msg{};
    msg.user.len = 5;
    std::memcpy(msg.user.data.data(), "alice", 5);
    methods::Decision d;
    std::string log;
    m.describe(d, log);
    EXPECT_EQ(log, "");  // nothing decoded
    d.fko = &msg;
    m.describe(d, log);
    EXPECT_EQ(log, ", user alice");
}

namespace {

// Two ranges on one port: the first with an HMAC (sha256, or `hmac`), the second without.
policy::Config keyed_config(const std::string &hmac = "sha256") {
    return policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [
        {"name": "mac", "method": "fko", "sources": ["10.1.0.0/16"], "open": ["tcp/22"],
         "secrets": [{"label": "m", "key": "mac key", "hmac_key": "mac hmac", "hmac": ")" +
                                hmac + R"("}]},
        {"name": "bare", "method": "fko", "sources": ["10.2.0.0/16"], "open": ["tcp/22"],
         "secrets": [{"label": "b", "key": "bare key"}]}]})");
}

std::string encode_for(const policy::Config &c, size_t range,
                       const std::string &message = "0.0.0.0,tcp/22") {
    std::string error;
    auto ctx = spa::FkoKeyContext::create(c.ranges[range].secrets[0].fko, error);
    EXPECT_TRUE(ctx) << error;
    spa::FkoRequest req;
    req.timestamp = 1000;
    req.message = message;
    std::string out(spa::kMaxEncoded, '\0');
    size_t n = 0;
    EXPECT_EQ(spa::fko_encode(*ctx, req, out, n), spa::Reject::ok);
    out.resize(n);
    return out;
}

std::span<const uint8_t> span_of(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

spa::Reject judge(policy::KnockPolicy &p, const std::string &pkt, const char *src) {
    methods::Knock k;
    k.source = *policy::parse_address(src);
    k.port = 62201;
    k.now = 1000;
    k.payload = span_of(pkt);
    return p.check(k).reason;
}

}  // namespace

TEST(FkoReplayKey, AnHmacKnockIsRememberedByItsTagAndItsResendRefused) {
    for (const char *hmac : {"md5", "sha1", "sha256", "sha384", "sha512", "sha3_256", "sha3_512"}) {
        auto c = keyed_config(hmac);
        policy::ReplayCache cache("", policy::KnockPolicy::replay_retention(c));
        policy::KnockPolicy p(c, &cache);
        const std::string pkt = encode_for(c, 0);
        ASSERT_EQ(judge(p, pkt, "10.1.0.1"), spa::Reject::ok) << hmac;
        std::string error;
        auto ctx = spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
        spa::ReplayDigest tag{};
        ASSERT_EQ(spa::fko_verify_mac(*ctx, span_of(pkt), &tag), spa::Reject::ok);
        EXPECT_TRUE(cache.contains(tag, 1000)) << hmac;
        EXPECT_FALSE(cache.contains(spa::replay_digest(span_of(pkt)), 1000))
            << hmac << ": no SHA-256 of the wire is spent on an HMAC knock";
        EXPECT_EQ(judge(p, pkt, "10.1.0.1"), spa::Reject::replay) << hmac;
        EXPECT_EQ(judge(p, pkt, "10.1.9.9"), spa::Reject::replay) << hmac << ", another source";
    }
}

TEST(FkoReplayKey, AKnockWithoutHmacIsStillKeyedByItsWireDigest) {
    auto c = keyed_config();
    policy::ReplayCache cache("", policy::KnockPolicy::replay_retention(c));
    policy::KnockPolicy p(c, &cache);
    const std::string pkt = encode_for(c, 1);
    ASSERT_EQ(judge(p, pkt, "10.2.0.1"), spa::Reject::ok);
    EXPECT_TRUE(cache.contains(spa::replay_digest(span_of(pkt)), 1000));
    EXPECT_EQ(judge(p, pkt, "10.2.0.1"), spa::Reject::replay);
}

TEST(FkoReplayKey, OnlyTheVerifiedTagMakesAKey) {
    auto c = keyed_config();
    std::string error;
    auto ctx = spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
    std::string pkt = encode_for(c, 0);
    spa::ReplayDigest tag{};
    tag[5] = 0x77;
    pkt[pkt.size() - 2] = pkt[pkt.size() - 2] == 'A' ? 'B' : 'A';
    EXPECT_EQ(spa::fko_verify_mac(*ctx, span_of(pkt), &tag), spa::Reject::hmac_mismatch);
    EXPECT_EQ(tag[5], 0x77) << "a tag that did not verify is never handed out as a key";
}

// access.conf's REQUIRE_USERNAME ("users") and ACCESS_EXPIRE ("expires_at"): a user the range
// does not name is refused, as is any knock from expires_at on; a fresh judge each time (the
// packets would otherwise be replays).
TEST(FkoMethod, UsersAndExpiryAreHonoured) {
    auto verdict = [](std::vector<std::string> users, int64_t expires_at) {
        auto c = keyed_config();
        c.ranges[0].users = std::move(users);
        c.ranges[0].expires_at = expires_at;
        policy::ReplayCache cache("", policy::KnockPolicy::replay_retention(c));
        policy::KnockPolicy p(c, &cache);
        return judge(p, encode_for(c, 0), "10.1.0.1");  // user "root", now 1000
    };
    EXPECT_EQ(verdict({}, 0), spa::Reject::ok);
    EXPECT_EQ(verdict({"alice"}, 0), spa::Reject::user_not_allowed);
    EXPECT_EQ(verdict({"alice", "root"}, 0), spa::Reject::ok);
    EXPECT_EQ(verdict({}, 1000), spa::Reject::range_expired);
    EXPECT_EQ(verdict({}, 1001), spa::Reject::ok);
    EXPECT_THROW(policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [{"name": "r", "method": "fko", "open": ["tcp/22"], "users": ["a/b"],
                  "secrets": [{"label": "k", "key": "k"}]}]})"),
                 policy::ConfigError);
}

// An IPv6 allow-IP (the bare form of fwknop's IPv6 work, "2001:db8::7,tcp/22"): with proof_ip
// it must be the knock's IPv6 source, as an IPv4 one must be its IPv4 source; "::" is "any"
// like 0.0.0.0; brackets, zones and IPv4-mapped spellings are no allow-IP.
TEST(FkoMethod, ProofIpJudgesAnIpv6AllowIpLikeAnIpv4One) {
    auto verdict = [](const std::string &message, const char *src) {
        auto c = policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
          "services": [{"name": "ssh", "port": "tcp/22"}],
          "ranges": [{"name": "v6", "method": "fko", "open": ["tcp/22"], "proof_ip": true,
                      "secrets": [{"label": "k", "key": "v6 key", "hmac_key": "v6 hmac"}]}]})");
        policy::ReplayCache cache("", policy::KnockPolicy::replay_retention(c));
        policy::KnockPolicy p(c, &cache);
        return judge(p, encode_for(c, 0, message), src);
    };
    using R = spa::Reject;
    EXPECT_EQ(verdict("2001:db8::7,tcp/22", "2001:db8::7"), R::ok);
    EXPECT_EQ(verdict("2001:DB8:0:0:0:0:0:7,tcp/22", "2001:db8::7"), R::ok);
    EXPECT_EQ(verdict("2001:db8::7,tcp/22", "2001:db8::8"), R::source_mismatch);
    EXPECT_EQ(verdict("2001:db8::7,tcp/22", "192.0.2.7"), R::source_mismatch);
    EXPECT_EQ(verdict("192.0.2.7,tcp/22", "2001:db8::7"), R::source_mismatch);
    EXPECT_EQ(verdict("192.0.2.7,tcp/22", "192.0.2.7"), R::ok);
    EXPECT_EQ(verdict("::,tcp/22", "2001:db8::7"), R::allow_ip_any_refused);
    spa::FkoMessage m;
    auto set = [&m](std::string_view text) {
        m.message.len = static_cast<uint16_t>(text.size());
        std::memcpy(m.message.data.data(), text.data(), text.size());
    };
    for (const char *bad :
         {"[2001:db8::7],tcp/22", "fe80::1%eth0,tcp/22", "::ffff:192.0.2.7,tcp/22",
          "2001:db8::7::1,tcp/22", "2001:db8:g::1,tcp/22"}) {
        set(bad);
        EXPECT_EQ(spa::parse_access_message(m), R::bad_allow_ip) << bad;
    }
    set("2001:db8::7,udp/53,tcp/22");
    ASSERT_EQ(spa::parse_access_message(m), R::ok);
    EXPECT_TRUE(m.has_allow_ip6);
    EXPECT_EQ(m.port_count, 2u);
}

// fwknop's NAT access: a -N request is honoured only where the range allows client NAT and
// only to its nat_targets (never a name, never LOCAL_NAT); a range's "nat" (FORCE_NAT) sets
// the target whatever the client asked, and no NAT request stays refused without
// allow_client_nat.
TEST(FkoMethod, NatAccessIsDecidedByTheRange) {
    struct Verdict {
        spa::Reject reason;
        std::optional<policy::Endpoint> nat;
    };
    auto verdict = [](const std::string &extra, spa::MsgType type, std::string_view nat_access) {
        auto c = fko_config(extra, "\"tcp/22\"");
        policy::ReplayCache cache("", policy::KnockPolicy::replay_retention(c));
        policy::KnockPolicy p(c, &cache);
        std::string error;
        auto ctx = spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
        spa::FkoRequest req;
        req.timestamp = 1000;
        req.type = type;
        req.message = "0.0.0.0,tcp/22";
        req.nat_access = nat_access;
        std::string out(spa::kMaxEncoded, '\0');
        size_t n = 0;
        EXPECT_EQ(spa::fko_encode(*ctx, req, out, n), spa::Reject::ok);
        out.resize(n);
        methods::Knock k;
        k.source = *policy::parse_address("10.1.0.1");
        k.port = 62201;
        k.now = 1000;
        k.payload = {reinterpret_cast<const uint8_t *>(out.data()), out.size()};
        auto d = p.check(k);
        return Verdict{d.reason, d.nat};
    };
    using spa::MsgType;
    using R = spa::Reject;
    const std::string client = R"(, "allow_client_nat": true, "nat_targets": ["192.168.1.0/24"])";
    auto ok = verdict(client, MsgType::nat_access, "192.168.1.100,22");
    EXPECT_EQ(ok.reason, R::ok);
    ASSERT_TRUE(ok.nat);
    EXPECT_EQ(policy::format_endpoint(*ok.nat), "192.168.1.100:22");
    EXPECT_EQ(verdict(client, MsgType::client_timeout_nat_access, "192.168.1.7,3389").reason,
              R::ok);
    EXPECT_EQ(verdict(client, MsgType::nat_access, "192.168.2.100,22").reason, R::nat_refused);
    EXPECT_EQ(verdict(client, MsgType::nat_access, "nas.lan,22").reason, R::nat_refused);
    EXPECT_EQ(verdict(client, MsgType::local_nat_access, "192.168.1.100,22").reason,
              R::nat_refused);
    EXPECT_EQ(verdict("", MsgType::nat_access, "192.168.1.100,22").reason, R::nat_refused);
    // A plain access knock carries no NAT: none is decided.
    auto plain = verdict(client, MsgType::access, "");
    EXPECT_EQ(plain.reason, R::ok);
    EXPECT_FALSE(plain.nat);
    // FORCE_NAT: every grant of the range goes to its target, a client's request or not.
    const std::string forced = R"(, "nat": {"to": "192.168.1.50:2222"})";
    auto f = verdict(forced, MsgType::access, "");
    ASSERT_TRUE(f.nat);
    EXPECT_EQ(policy::format_endpoint(*f.nat), "192.168.1.50:2222");
    auto both = verdict(forced + client, MsgType::nat_access, "192.168.1.100,22");
    ASSERT_TRUE(both.nat);
    EXPECT_EQ(policy::format_endpoint(*both.nat), "192.168.1.50:2222");
}
