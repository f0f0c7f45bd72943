#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "spa/base64.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_encode.hpp"
#include "spa/plain.hpp"
#include "spa/replay_digest.hpp"

namespace xk::spa {
// Failures name the reason, not its byte.
void PrintTo(Reject r, std::ostream *os) {
    *os << reject_name(r);
}
}  // namespace xk::spa

using namespace xk::policy;
using xk::spa::Reject;

namespace {

Config two_ranges() {
    return parse_config(R"({
      "interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/443"}],
      "ranges": [
        {"name": "lan", "method": "plain", "sources": ["192.0.2.0/24"], "open": ["tcp/22"],
         "timeout": 20, "secrets": [{"label": "a", "secret": "alpha-knock"}]},
        {"name": "all", "method": "plain", "open": ["tcp/22", "tcp/443"], "timeout": 60,
         "secrets": [{"label": "new", "secret": "bravo-knock"}, {"label": "old", "secret": "charlie"}]},
        {"name": "other-port", "method": "plain", "port": 4000, "open": ["*"],
         "secrets": [{"label": "x", "secret": "alpha-knock"}]}
      ]})");
}

Knock knock(const char *src, const std::string &payload, uint16_t port = 62201) {
    Knock k;
    k.source = *parse_address(src);
    k.port = port;
    k.payload = {reinterpret_cast<const uint8_t *>(payload.data()), payload.size()};
    return k;
}

}  // namespace

TEST(Plain, ExactBytesOnly) {
    std::string s = "secret";
    auto span = [](const std::string &x) {
        return std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(x.data()), x.size());
    };
    EXPECT_TRUE(xk::spa::plain_matches(span("secret"), span(s)));
    EXPECT_FALSE(xk::spa::plain_matches(span("secreT"), span(s)));
    EXPECT_FALSE(xk::spa::plain_matches(span("secret\n"), span(s)));
    EXPECT_FALSE(xk::spa::plain_matches(span(""), span("")));
}

TEST(KnockPolicy, FirstRangeAndSecretInOrderWin) {
    Config c = two_ranges();
    ReplayCache replay("", 240);
    KnockPolicy p(c, &replay);
    std::string alpha = "alpha-knock", bravo = "bravo-knock", charlie = "charlie";

    Decision d = p.check(knock("192.0.2.7", alpha));
    ASSERT_TRUE(d.accepted());
    EXPECT_EQ(d.range_id, 0u);
    EXPECT_EQ(d.timeout_s, 20u);
    ASSERT_EQ(d.grant().size(), 1u);
    EXPECT_EQ(d.grant()[0].port, 22);

    d = p.check(knock("2001:db8::9", charlie));  // rotated-out secret still works
    ASSERT_TRUE(d.accepted());
    EXPECT_EQ(d.range_id, 1u);
    EXPECT_EQ(d.secret_id, 1u);
    EXPECT_EQ(d.grant().size(), 2u);
}

TEST(KnockPolicy, RefusalsCarryTheirReason) {
    Config c = two_ranges();
    ReplayCache replay("", 240);
    KnockPolicy p(c, &replay);
    std::string alpha = "alpha-knock", wrong = "wrong-knock";
    // alpha is only valid for 192.0.2.0/24 on 62201.
    EXPECT_EQ(p.check(knock("198.51.100.1", alpha)).reason, Reject::plain_mismatch);
    EXPECT_EQ(p.check(knock("192.0.2.7", wrong)).reason, Reject::plain_mismatch);
    EXPECT_TRUE(p.check(knock("198.51.100.1", alpha, 4000)).accepted());
    EXPECT_EQ(p.check(knock("198.51.100.1", alpha, 5000)).reason, Reject::source_not_allowed);
    EXPECT_TRUE(p.listens(4000));
    EXPECT_FALSE(p.listens(5000));
}

// fwknop's DESTINATION: a range with destinations takes knocks sent to those addresses only;
// another range on the port may still take the knock.
TEST(KnockPolicy, DestinationsNarrowWhereAKnockMayBeSent) {
    Config c = parse_config(R"({
      "interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [
        {"name": "wan", "method": "plain", "open": ["tcp/22"],
         "destinations": ["198.51.100.1", "2001:db8:1::/64"],
         "secrets": [{"label": "a", "secret": "alpha-knock"}]},
        {"name": "lan", "method": "plain", "open": ["tcp/22"], "destinations": ["10.0.0.1"],
         "secrets": [{"label": "b", "secret": "bravo-knock"}]}
      ]})");
    ReplayCache replay("", 240);
    KnockPolicy p(c, &replay);
    auto to = [](const char *dst, const std::string &payload) {
        Knock k = knock("192.0.2.7", payload);
        k.destination = *parse_address(dst);
        return k;
    };
    const std::string alpha = "alpha-knock", bravo = "bravo-knock";
    EXPECT_TRUE(p.check(to("198.51.100.1", alpha)).accepted());
    EXPECT_TRUE(p.check(to("2001:db8:1::5", alpha)).accepted());
    EXPECT_EQ(p.check(to("198.51.100.2", alpha)).reason, Reject::destination_not_allowed);
    EXPECT_EQ(p.check(to("10.0.0.1", alpha)).reason, Reject::plain_mismatch);  // lan's secret
    EXPECT_TRUE(p.check(to("10.0.0.1", bravo)).accepted());
    // The last range tried speaks: lan, whose secret it is, takes no knock sent there.
    EXPECT_EQ(p.check(to("198.51.100.1", bravo)).reason, Reject::destination_not_allowed);
    EXPECT_TRUE(c.ranges[1].destinations.size() == 1u);
    for (const char *bad : {R"(["nowhere"])", "[]"})
        EXPECT_THROW(
            parse_config(std::string(R"({"interfaces": [{"name": "eth0"}], "services": [],
          "ranges": [{"name": "x", "method": "plain", "open": ["*"], "destinations": )") +
                         bad + R"(, "secrets": [{"label": "a", "secret": "alpha-knock"}]}]})"),
            std::exception)
            << bad;
}

// fwknop's -P: a range hears only the transports it lists; an ICMP echo has no port.
TEST(KnockPolicy, EachRangeHearsItsTransportsOnly) {
    Config c = parse_config(R"({
      "interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [
        {"name": "raw", "method": "plain", "transports": ["tcpraw", "icmp"], "open": ["tcp/22"],
         "secrets": [{"label": "r", "secret": "raw-knock"}]},
        {"name": "udp", "method": "plain", "transports": ["udpraw"], "open": ["tcp/22"],
         "secrets": [{"label": "u", "secret": "udp-knock"}]}
      ]})");
    KnockPolicy p(c, nullptr);
    EXPECT_TRUE(p.listens(62201, Transport::udp));
    EXPECT_TRUE(p.listens(62201, Transport::tcp));
    EXPECT_TRUE(p.listens(0, Transport::icmp));
    EXPECT_FALSE(p.listens(62202, Transport::tcp));
    auto by = [](Knock k, Transport t, uint16_t port) {
        k.transport = t;
        k.port = port;
        return k;
    };
    const Decision tcp = p.check(by(knock("192.0.2.7", "raw-knock"), Transport::tcp, 62201));
    ASSERT_TRUE(tcp.accepted());
    EXPECT_EQ(c.ranges[tcp.range_id].name, "raw");
    EXPECT_TRUE(p.check(by(knock("192.0.2.7", "raw-knock"), Transport::icmp, 0)).accepted());
    // The udp range's secret over tcpraw, and the raw range's over udp: nobody listens.
    EXPECT_FALSE(p.check(by(knock("192.0.2.7", "udp-knock"), Transport::tcp, 62201)).accepted());
    EXPECT_FALSE(p.check(knock("192.0.2.7", "raw-knock")).accepted());
    EXPECT_TRUE(p.check(knock("192.0.2.7", "udp-knock")).accepted());
}

namespace {

// A gateway with one fko range (proof_ip on) and one without, rotated keys in the first.
Config fko_config() {
    return parse_config(R"({
      "interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/443"}],
      "ranges": [
        {"name": "strict", "method": "fko", "port": 62201, "open": ["tcp/22"], "proof_ip": true,
         "timeout": 30, "max_client_timeout": 100,
         "secrets": [{"label": "new", "key": "new key", "hmac_key": "new hmac", "hmac": "sha256"},
                     {"label": "old", "key": "old key", "hmac_key": "old hmac", "hmac": "sha512"}]},
        {"name": "loose", "method": "fko", "port": 62202, "open": ["*"],
         "secrets": [{"label": "l", "key": "loose key", "hmac_key": "loose hmac"}]}
      ]})");
}

class FkoPolicy : public ::testing::Test {
  protected:
    static constexpr int64_t kNow = 1790000000;
    Config config = fko_config();
    ReplayCache replay{"", 240};
    KnockPolicy policy{config, &replay};

    // A real fko packet for range/secret, built by our encoder.
    std::string packet(size_t range, size_t secret, const std::string &message, int64_t ts = kNow,
                       xk::spa::MsgType type = xk::spa::MsgType::access,
                       uint32_t client_timeout = 0, std::string_view nat = {}) {
        std::string error;
        auto ctx = xk::spa::FkoKeyContext::create(config.ranges[range].secrets[secret].fko, error);
        EXPECT_TRUE(ctx) << error;
        xk::spa::FkoRequest req;
        req.timestamp = ts;
        req.message = message;
        req.type = type;
        req.client_timeout = client_timeout;
        req.nat_access = nat;
        std::string out(xk::spa::kMaxEncoded, '\0');
        size_t n = 0;
        EXPECT_EQ(xk::spa::fko_encode(*ctx, req, out, n), Reject::ok);
        out.resize(n);
        return out;
    }

    Decision check(const std::string &pkt, const char *src = "192.0.2.10", uint16_t port = 62201,
                   int64_t now = kNow) {
        Knock k;
        k.source = *parse_address(src);
        k.port = port;
        k.now = now;
        k.payload = {reinterpret_cast<const uint8_t *>(pkt.data()), pkt.size()};
        return policy.check(k);
    }
};

}  // namespace

TEST_F(FkoPolicy, AcceptsAndGrantsTheRequestedPorts) {
    Decision d = check(packet(0, 0, "192.0.2.10,tcp/22"));
    ASSERT_EQ(d.reason, Reject::ok) << xk::spa::reject_name(d.reason);
    EXPECT_EQ(d.range_id, 0u);
    EXPECT_EQ(d.secret_id, 0u);
    EXPECT_EQ(d.timeout_s, 30u);
    ASSERT_EQ(d.grant().size(), 1u);
    EXPECT_EQ(d.grant()[0], (PortRef{6, 22}));
    ASSERT_NE(d.fko, nullptr);
    EXPECT_EQ(d.fko->user.view(), "root");
}

TEST_F(FkoPolicy, OldSecretStillWorksAfterRotation) {
    Decision d = check(packet(0, 1, "192.0.2.10,tcp/22"));
    ASSERT_EQ(d.reason, Reject::ok) << xk::spa::reject_name(d.reason);
    EXPECT_EQ(d.secret_id, 1u);
}

TEST_F(FkoPolicy, ReplayIsRefusedEvenAfterAFirstRefusal) {
    std::string pkt = packet(0, 0, "192.0.2.10,tcp/22");
    EXPECT_TRUE(check(pkt).accepted());
    EXPECT_EQ(check(pkt).reason, Reject::replay);
    std::string late = packet(0, 0, "192.0.2.10,tcp/22", kNow - 500);
    EXPECT_EQ(check(late).reason, Reject::too_old);
    EXPECT_EQ(check(late).reason, Reject::replay);  // authentic packets are remembered
}

TEST_F(FkoPolicy, TimeWindowIsSymmetric) {
    EXPECT_EQ(check(packet(0, 0, "192.0.2.10,tcp/22", kNow - 121)).reason, Reject::too_old);
    EXPECT_EQ(check(packet(0, 0, "192.0.2.10,tcp/22", kNow + 121)).reason, Reject::too_new);
    EXPECT_TRUE(check(packet(0, 0, "192.0.2.10,tcp/22", kNow + 119)).accepted());
    EXPECT_TRUE(check(packet(0, 0, "192.0.2.10,tcp/22", kNow - 119)).accepted());
}

TEST_F(FkoPolicy, ProofIpBindsTheKnockToItsSource) {
    EXPECT_EQ(check(packet(0, 0, "192.0.2.99,tcp/22")).reason, Reject::source_mismatch);
    EXPECT_EQ(check(packet(0, 0, "0.0.0.0,tcp/22")).reason, Reject::allow_ip_any_refused);
    EXPECT_EQ(check(packet(0, 0, "192.0.2.10,tcp/22"), "2001:db8::10").reason,
              Reject::source_mismatch);
    // Without proof_ip the claim is ignored: only the source is ever authorized.
    Decision d = check(packet(1, 0, "0.0.0.0,tcp/443"), "2001:db8::10", 62202);
    EXPECT_TRUE(d.accepted()) << xk::spa::reject_name(d.reason);
}

TEST_F(FkoPolicy, PortsOutsideTheOpenListRefuseTheWholeRequest) {
    EXPECT_EQ(check(packet(0, 0, "192.0.2.10,tcp/22,tcp/443")).reason, Reject::port_not_allowed);
    Decision d = check(packet(1, 0, "192.0.2.10,tcp/22,tcp/443,udp/53"), "192.0.2.10", 62202);
    ASSERT_TRUE(d.accepted());
    EXPECT_EQ(d.grant().size(), 3u);
}

TEST_F(FkoPolicy, CommandAndNatAreRefused) {
    EXPECT_EQ(check(packet(0, 0, "192.0.2.10,echo hi", kNow, xk::spa::MsgType::command)).reason,
              Reject::command_refused);
    EXPECT_EQ(check(packet(0, 0, "192.0.2.10,tcp/22", kNow, xk::spa::MsgType::nat_access, 0,
                           "10.0.0.5,22"))
                  .reason,
              Reject::nat_refused);
}

TEST_F(FkoPolicy, ClientTimeoutIsCapped) {
    Decision d = check(
        packet(0, 0, "192.0.2.10,tcp/22", kNow, xk::spa::MsgType::client_timeout_access, 5000));
    ASSERT_TRUE(d.accepted()) << xk::spa::reject_name(d.reason);
    EXPECT_EQ(d.timeout_s, 100u);
    d = check(packet(0, 0, "192.0.2.10,tcp/22", kNow, xk::spa::MsgType::client_timeout_access, 7));
    EXPECT_EQ(d.timeout_s, 7u);
}

TEST_F(FkoPolicy, WrongKeyOrTamperingIsAnHmacFailure) {
    std::string other = packet(1, 0, "192.0.2.10,tcp/22");  // loose range's key on strict port
    EXPECT_EQ(check(other).reason, Reject::hmac_mismatch);
    std::string pkt = packet(0, 0, "192.0.2.10,tcp/22");
    pkt[40] = pkt[40] == 'A' ? 'B' : 'A';
    EXPECT_EQ(check(pkt).reason, Reject::hmac_mismatch);
    EXPECT_EQ(check("too short").reason, Reject::too_short);
}

TEST(ReplayCacheFile, SurvivesARestartAndForgetsOldEntries) {
    char dir[] = "/tmp/xk-replay-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    std::string path = std::string(dir) + "/replay.journal";
    xk::spa::ReplayDigest a{}, b{};
    a[0] = 1;
    b[0] = 2;
    int64_t now = time(nullptr);
    using Insert = ReplayCache::Insert;
    {
        ReplayCache cache(path, 240);
        EXPECT_EQ(cache.insert(a, now), Insert::added);
        EXPECT_EQ(cache.insert(a, now), Insert::present);
        EXPECT_EQ(cache.insert(b, now - 1000), Insert::added);  // already past retention
    }
    ReplayCache again(path, 240);
    EXPECT_TRUE(again.contains(a, now));
    EXPECT_FALSE(again.contains(b, now));
    EXPECT_FALSE(again.contains(a, now + 241));  // expired: a packet that old fails the time check
    EXPECT_EQ(again.prune(now + 241), 0u);
    EXPECT_FALSE(again.contains(a, now));
    std::filesystem::remove_all(dir);
}

TEST(ReplayCacheTable, FullRefusesRatherThanForgetsAndReusesExpiredSlots) {
    // Smallest table: 64 shards of 64 slots. Digests aimed at one shard fill it.
    ReplayCache cache("", 100, 1);
    int64_t now = 1000;
    using Insert = ReplayCache::Insert;
    size_t added = 0;
    Insert last = Insert::added;
    for (uint32_t i = 0; i < 200 && last == Insert::added; ++i) {
        xk::spa::ReplayDigest d{};
        std::memcpy(d.data() + 8, &i, sizeof(i));  // same shard (d[0] == 0), spread slots
        last = cache.insert(d, now);
        added += last == Insert::added;
    }
    EXPECT_EQ(last, Insert::full);
    EXPECT_EQ(added, 64u);
    for (uint32_t i = 0; i < 64; ++i) {  // none of the live ones was forgotten
        xk::spa::ReplayDigest d{};
        std::memcpy(d.data() + 8, &i, sizeof(i));
        EXPECT_TRUE(cache.contains(d, now)) << i;
    }
    xk::spa::ReplayDigest fresh{};
    fresh[31] = 7;
    EXPECT_EQ(cache.insert(fresh, now + 101), Insert::added);  // the old ones expired
    EXPECT_TRUE(cache.contains(fresh, now + 101));
}

TEST_F(FkoPolicy, LongPacketsFwknopdWouldCallGpgAreAccepted) {
    std::string message = "192.0.2.10";
    for (int port = 10000; port < 10017; ++port) message += ",tcp/" + std::to_string(port);
    std::string pkt = packet(1, 0, message);
    ASSERT_GE(pkt.size(), 400u);  // fwknopd would classify this as GPG and refuse it
    Decision d = check(pkt, "192.0.2.10", 62202);
    ASSERT_TRUE(d.accepted()) << xk::spa::reject_name(d.reason);
    EXPECT_EQ(d.grant().size(), 17u);
}

namespace {

// Our encoder's packet for req, as the wire carries it.
std::string encode(xk::spa::FkoKeyContext &ctx, const xk::spa::FkoRequest &req) {
    std::string pkt(xk::spa::kMaxEncoded, '\0');
    size_t n = 0;
    EXPECT_EQ(xk::spa::fko_encode(ctx, req, pkt, n), Reject::ok);
    pkt.resize(n);
    return pkt;
}

}  // namespace

TEST(FkoReplay, WithoutATimeWindowDigestsNeverAgeOut) {
    Config c = parse_config(
        R"({"interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [{"name": "r", "method": "fko", "open": ["tcp/22"], "proof_time": 0,
                  "secrets": [{"label": "k", "key": "k1", "hmac_key": "h1"}]}]})");
    ReplayCache replay("", KnockPolicy::replay_retention(c));
    KnockPolicy policy(c, &replay);
    std::string error;
    auto ctx = xk::spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
    xk::spa::FkoRequest req;
    req.timestamp = 1000;
    req.message = "192.0.2.10,tcp/22";
    std::string pkt = encode(*ctx, req);
    Knock k;
    k.source = *parse_address("192.0.2.10");
    k.port = 62201;
    k.payload = {reinterpret_cast<const uint8_t *>(pkt.data()), pkt.size()};
    k.now = 1000;
    EXPECT_TRUE(policy.check(k).accepted());
    k.now = 1000 + 10 * 365 * 86400;  // years later, with no time check to stop it
    EXPECT_EQ(policy.check(k).reason, Reject::replay);
}

namespace {

std::span<const uint8_t> bytes(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

// fwknop's lenient unpadding accepts a no-HMAC packet whose all-padding last block is cut
// off: same message, other wire bytes. Finds such a packet (stamped `ts`) and its cut twin.
bool cuttable_packet(xk::spa::FkoKeyContext &ctx, int64_t ts, std::string &pkt, std::string &cut) {
    const std::string prefix = "U2FsdGVkX1";
    for (int user_len = 1; user_len <= 40; ++user_len) {
        std::string user(static_cast<size_t>(user_len), 'u');
        xk::spa::FkoRequest req;
        req.user = user;
        req.timestamp = ts;
        req.message = "192.0.2.10,tcp/22";
        pkt = encode(ctx, req);
        // Drop the last AES block of the ciphertext and re-spell the wire.
        std::vector<uint8_t> raw(pkt.size() + prefix.size());
        size_t raw_len = 0;
        if (!xk::spa::b64_decode(prefix + pkt, raw, raw_len) || raw_len < 16 + 32) continue;
        cut.assign(xk::spa::b64_encoded_len(raw_len) + 4, '\0');
        cut.resize(xk::spa::b64_encode({raw.data(), raw_len - 16}, cut));
        cut = cut.substr(prefix.size());
        xk::spa::FkoMessage m;
        if (cut.size() >= xk::spa::kMinWire &&
            xk::spa::fko_decode(ctx, bytes(cut), m) == Reject::ok)
            return true;  // else this length's last block held message bytes: try another
    }
    return false;
}

Knock fko_knock(const std::string &pkt, int64_t now, const char *src = "192.0.2.10") {
    Knock k;
    k.source = *parse_address(src);
    k.port = 62201;
    k.now = now;
    k.payload = bytes(pkt);
    return k;
}

}  // namespace

TEST(FkoReplay, NoHmacPacketCutByItsPaddingBlockIsStillAReplay) {
    Config c = parse_config(
        R"({"interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [{"name": "r", "method": "fko", "open": ["tcp/22"],
                  "secrets": [{"label": "k", "key": "legacy key", "mode": "cbc"}]}]})");
    std::string error;
    auto ctx = xk::spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
    ASSERT_TRUE(ctx) << error;
    std::string pkt, cut;
    ASSERT_TRUE(cuttable_packet(*ctx, 1000, pkt, cut)) << "no user length gave a cuttable packet";
    ReplayCache replay("", 240);
    KnockPolicy policy(c, &replay);
    EXPECT_TRUE(policy.check(fko_knock(pkt, 1000)).accepted());
    EXPECT_EQ(policy.check(fko_knock(cut, 1000)).reason, Reject::replay);
}

namespace {

// The layout import-fwknop makes from an access.conf with two SOURCE stanzas sharing one
// KEY: two ranges on one port, one secret, other sources and open lists. 192.0.2.10 is in
// both, and its knock for tcp/22 is acceptable to both.
Config shared_key_config(const char *secret) {
    return parse_config(std::string(R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "web", "port": "tcp/443"}],
      "ranges": [
        {"name": "office", "method": "fko", "sources": ["192.0.2.0/24"], "open": ["tcp/22"],
         "secrets": [)") +
                        secret + R"(]},
        {"name": "anywhere", "method": "fko", "open": ["tcp/22", "tcp/443"],
         "secrets": [)" +
                        secret + R"(]}]})");
}

constexpr const char *kSharedHmacKey =
    R"({"label": "k", "key": "shared key", "hmac_key": "shared hmac"})";
constexpr const char *kSharedLegacyKey = R"({"label": "k", "key": "legacy key", "mode": "cbc"})";

std::string shared_packet(const Config &c, int64_t ts, const char *message = "192.0.2.10,tcp/22") {
    std::string error;
    auto ctx = xk::spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
    EXPECT_TRUE(ctx) << error;
    xk::spa::FkoRequest req;
    req.timestamp = ts;
    req.message = message;
    return encode(*ctx, req);
}

}  // namespace

TEST(FkoReplayShared, ARangeRefusingAfterTheRecordLeavesThePacketToTheNextRange) {
    for (const char *secret : {kSharedHmacKey, kSharedLegacyKey}) {
        Config c = shared_key_config(secret);
        ReplayCache replay("", KnockPolicy::replay_retention(c));
        KnockPolicy policy(c, &replay);
        // office records the packet, then refuses tcp/443; its own record is no replay for
        // anywhere, which opens tcp/443.
        std::string pkt = shared_packet(c, 1000, "192.0.2.10,tcp/443");
        Decision d = policy.check(fko_knock(pkt, 1000));
        EXPECT_TRUE(d.accepted()) << xk::spa::reject_name(d.reason) << " " << secret;
        EXPECT_EQ(d.range_id, 1u);
        EXPECT_EQ(policy.check(fko_knock(pkt, 1001)).reason, Reject::replay) << secret;
    }
}

TEST(FkoReplayShared, AReplayIsRefusedByEveryRangeSharingTheKey) {
    Config c = shared_key_config(kSharedHmacKey);
    ReplayCache replay("", KnockPolicy::replay_retention(c));
    KnockPolicy policy(c, &replay);
    std::string pkt = shared_packet(c, 1000);
    Decision d = policy.check(fko_knock(pkt, 1000));
    ASSERT_TRUE(d.accepted()) << xk::spa::reject_name(d.reason);
    EXPECT_EQ(d.range_id, 0u);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(policy.check(fko_knock(pkt, 1001)).reason, Reject::replay);
    // A source only the second range takes is refused the same.
    EXPECT_EQ(policy.check(fko_knock(pkt, 1001, "198.51.100.7")).reason, Reject::replay);
}

// A sniffed knock sent to another knock port, where a range (here on another interface's
// port) holds the same key: the replay key names the wire, never the port, so it is refused.
TEST(FkoReplayShared, AKnockAcceptedOnOnePortIsAReplayOnAnotherPort) {
    for (const char *secret : {kSharedHmacKey, kSharedLegacyKey}) {
        Config c = parse_config(std::string(R"({"interfaces": [{"name": "eth0"}],
          "services": [{"name": "ssh", "port": "tcp/22"}],
          "ranges": [
            {"name": "a", "method": "fko", "port": 62201, "open": ["tcp/22"], "secrets": [)") +
                                secret + R"(]},
            {"name": "b", "method": "fko", "port": 62202, "open": ["tcp/22"], "secrets": [)" +
                                secret + R"(]}]})");
        ReplayCache replay("", KnockPolicy::replay_retention(c));
        KnockPolicy policy(c, &replay);
        const std::string pkt = shared_packet(c, 1000);
        Knock on_b = fko_knock(pkt, 1000);
        on_b.port = 62202;
        const Decision first = policy.check(on_b);
        ASSERT_TRUE(first.accepted()) << xk::spa::reject_name(first.reason) << " " << secret;
        EXPECT_EQ(first.range_id, 1u);
        EXPECT_EQ(policy.check(fko_knock(pkt, 1001)).reason, Reject::replay) << secret;
        on_b.now = 1001;
        EXPECT_EQ(policy.check(on_b).reason, Reject::replay) << secret;
    }
}

TEST(FkoReplayShared, NoHmacPacketCutByItsPaddingIsRefusedBySecondRangeToo) {
    Config c = shared_key_config(kSharedLegacyKey);
    std::string error;
    auto ctx = xk::spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
    ASSERT_TRUE(ctx) << error;
    std::string pkt, cut;
    ASSERT_TRUE(cuttable_packet(*ctx, 1000, pkt, cut));
    ReplayCache replay("", KnockPolicy::replay_retention(c));
    KnockPolicy policy(c, &replay);
    EXPECT_TRUE(policy.check(fko_knock(pkt, 1000)).accepted());
    for (int i = 0; i < 3; ++i) {  // every resend, by both spellings
        EXPECT_EQ(policy.check(fko_knock(cut, 1000)).reason, Reject::replay) << i;
        EXPECT_EQ(policy.check(fko_knock(pkt, 1000)).reason, Reject::replay) << i;
    }
}

TEST(FkoReplayShared, AFullCacheRefusesThroughEveryRange) {
    Config c = shared_key_config(kSharedHmacKey);
    ReplayCache replay("", KnockPolicy::replay_retention(c), 1);  // 64 slots per shard
    KnockPolicy policy(c, &replay);
    std::string pkt = shared_packet(c, 1000);
    // Fill the shard the packet's replay key (its HMAC tag) falls in with live keys.
    std::string error;
    auto ctx = xk::spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
    xk::spa::ReplayDigest tag{};
    ASSERT_EQ(xk::spa::fko_verify_mac(*ctx, bytes(pkt), &tag), Reject::ok);
    size_t filled = 0;
    for (uint32_t i = 0; i < 200; ++i) {
        xk::spa::ReplayDigest d{};
        d[0] = tag[0];
        d[31] = 0x5a;  // never the packet's own digest
        std::memcpy(d.data() + 8, &i, sizeof(i));
        if (replay.insert(d, 1000) != ReplayCache::Insert::added) break;
        ++filled;
    }
    ASSERT_EQ(filled, 64u);
    for (int i = 0; i < 3; ++i) {
        Decision d = policy.check(fko_knock(pkt, 1000));
        EXPECT_EQ(d.reason, Reject::replay_cache_full) << i << " range " << d.range_id;
    }
}

TEST(FkoReplayShared, TheSamePacketOnTwoWorkersAtOnceIsAcceptedOnce) {
    Config c = shared_key_config(kSharedHmacKey);
    ReplayCache replay("", KnockPolicy::replay_retention(c));
    KnockPolicy first(c, &replay), second(c, &replay);  // one per worker, as WorkerPool does
    int twice = 0, never = 0;
    for (int i = 0; i < 400; ++i) {
        std::string pkt = shared_packet(c, 1000);
        std::atomic<int> ready{0};
        Decision a, b;
        auto run = [&](KnockPolicy &p, Decision &out) {
            ready.fetch_add(1);
            while (ready.load() < 2) {
            }
            out = p.check(fko_knock(pkt, 1000));
        };
        std::thread ta(run, std::ref(first), std::ref(a)), tb(run, std::ref(second), std::ref(b));
        ta.join();
        tb.join();
        int accepted = a.accepted() + b.accepted();
        twice += accepted == 2;
        never += accepted == 0;
        if (accepted == 1) {
            EXPECT_EQ((a.accepted() ? b : a).reason, Reject::replay);
        }
    }
    EXPECT_EQ(twice, 0) << "iterations with the packet accepted twice";
    EXPECT_EQ(never, 0) << "iterations with the packet never accepted";
}

TEST_F(FkoPolicy, APacketStampedAheadIsStillAReplayWhenItsWindowOpens) {
    // A clock 1000 s ahead: too_new today, inside its window from kNow + 880 on.
    std::string pkt = packet(0, 0, "192.0.2.10,tcp/22", kNow + 1000);
    EXPECT_EQ(check(pkt).reason, Reject::too_new);
    // Long past 2 × proof_time (240 s) from first sight, but the packet's own window is open.
    EXPECT_EQ(check(pkt, "192.0.2.10", 62201, kNow + 940).reason, Reject::replay);
    EXPECT_EQ(check(pkt, "192.0.2.10", 62201, kNow + 1119).reason, Reject::replay);
    // A clock that far ahead still gets in with a packet never seen, once its window opens.
    std::string fresh = packet(0, 0, "192.0.2.10,tcp/22", kNow + 1500);
    EXPECT_EQ(check(fresh, "192.0.2.10", 62201, kNow + 1500).reason, Reject::ok);
}
