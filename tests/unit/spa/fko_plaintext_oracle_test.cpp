// Field-level differential test: hand-built plaintexts (valid digest, valid encryption, no
// HMAC) decided by our parser and by libfko. Where we are deliberately stricter the case says
// why; anything else must match.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "libfko_oracle.hpp"
#include "spa/base64.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_encode.hpp"

using namespace xk::spa;
using namespace xk::spa::test;

namespace {

std::string b64(std::string_view s) {
    std::string out(b64_encoded_len(s.size()), '\0');
    b64_encode({reinterpret_cast<const uint8_t *>(s.data()), s.size()}, out);
    return out;
}

std::string sha256_b64(std::string_view s) {
    uint8_t d[32];
    unsigned n = 0;
    EVP_Digest(s.data(), s.size(), d, &n, EVP_sha256(), nullptr);
    std::string out(43, '\0');
    b64_encode({d, 32}, out);
    return out;
}

std::string plaintext(const std::vector<std::string> &tokens) {
    std::string p;
    for (size_t i = 0; i < tokens.size(); ++i) p += (i ? ":" : "") + tokens[i];
    return p + ":" + sha256_b64(p);
}

enum class Expect { same, stricter };

struct Case {
    const char *name;
    std::vector<std::string> tokens;
    Expect expect = Expect::same;
    Reject reason = Reject::ok;  // ours, when known
};

std::vector<std::string> base(std::string type = "1", std::string msg = "1.2.3.4,tcp/22") {
    return {"1234567890123456", b64("root"), "1700000000", "3.0.0", type, b64(msg)};
}

std::vector<std::string> with(std::vector<std::string> t, size_t i, std::string v) {
    t[i] = std::move(v);
    return t;
}

std::vector<std::string> plus(std::vector<std::string> t, std::vector<std::string> more) {
    t.insert(t.end(), more.begin(), more.end());
    return t;
}

}  // namespace

TEST(PlaintextOracle, FieldRulesAgreeWithLibfko) {
    const std::vector<Case> cases = {
        {"baseline", base()},
        {"user empty", with(base(), 1, ""), Expect::same, Reject::bad_user},
        {"user with colon", with(base(), 1, b64("a:b")), Expect::same, Reject::bad_user},
        {"user with slash", with(base(), 1, b64("a/b")), Expect::same, Reject::bad_user},
        // Log injection: a name that would start a new log line or drive a terminal.
        {"user with newline", with(base(), 1, b64("alice\nxdpknockd: authorized")), Expect::same,
         Reject::bad_user},
        {"user with carriage return", with(base(), 1, b64("alice\rbob")), Expect::same,
         Reject::bad_user},
        {"user with escape", with(base(), 1, b64("alice\x1b[2J")), Expect::same, Reject::bad_user},
        {"user with space", with(base(), 1, b64("a b"))},
        {"user 48 bytes", with(base(), 1, b64(std::string(48, 'u')))},
        {"user 49 bytes", with(base(), 1, b64(std::string(49, 'u'))), Expect::same,
         Reject::field_too_long},
        {"user bad base64", with(base(), 1, "cm9v*A"), Expect::same, Reject::bad_user},
        {"ts empty", with(base(), 2, ""), Expect::same, Reject::bad_timestamp},
        // libfko's strtol stops at the first non-digit and keeps the prefix.
        {"ts letters", with(base(), 2, "17000abc"), Expect::stricter, Reject::bad_timestamp},
        {"ts negative", with(base(), 2, "-5"), Expect::same, Reject::bad_timestamp},
        {"ts zero", with(base(), 2, "0")},
        {"ts 12 digits", with(base(), 2, "999999999999"), Expect::same, Reject::bad_timestamp},
        {"ts int max", with(base(), 2, "2147483647")},
        {"ts int max+1", with(base(), 2, "2147483648"), Expect::same, Reject::bad_timestamp},
        {"ts uint max", with(base(), 2, "4294967295"), Expect::same, Reject::bad_timestamp},
        {"ts 13 digits", with(base(), 2, "1000000000000"), Expect::same, Reject::field_too_long},
        {"version empty", with(base(), 3, ""), Expect::same, Reject::bad_version},
        {"version 8", with(base(), 3, "12345678")},
        {"version 9", with(base(), 3, "123456789"), Expect::same, Reject::field_too_long},
        {"type 7", with(base(), 4, "7"), Expect::same, Reject::bad_message_type},
        {"type -1", with(base(), 4, "-1"), Expect::same, Reject::bad_message_type},
        {"type 01", with(base(), 4, "01")},
        {"type 1a", with(base(), 4, "1a"), Expect::stricter, Reject::bad_message_type},
        {"type 3 chars", with(base(), 4, "001"), Expect::same, Reject::field_too_long},
        {"rand 15", with(base(), 0, "123456789012345"), Expect::same, Reject::decrypt_failed},
        {"rand 17", with(base(), 0, "12345678901234567"), Expect::same, Reject::decrypt_failed},
        {"msg no port list", base("1", "1.2.3.4"), Expect::same, Reject::bad_access},
        {"msg trailing comma", base("1", "1.2.3.4,tcp/22,"), Expect::same, Reject::bad_access},
        {"msg empty list", base("1", "1.2.3.4,"), Expect::same, Reject::bad_access},
        {"msg port 0", base("1", "1.2.3.4,tcp/0"), Expect::same, Reject::bad_access},
        {"msg port 65535", base("1", "1.2.3.4,udp/65535")},
        {"msg port 65536", base("1", "1.2.3.4,tcp/65536"), Expect::same, Reject::bad_access},
        {"msg port 022", base("1", "1.2.3.4,tcp/022")},
        {"msg no slash", base("1", "1.2.3.4,tcp22"), Expect::same, Reject::bad_access},
        {"msg three octets", base("1", "1.2.3,tcp/22"), Expect::same, Reject::bad_allow_ip},
        {"msg octet 256", base("1", "1.2.3.256,tcp/22"), Expect::same, Reject::bad_allow_ip},
        {"msg hostname", base("1", "host,tcp/22"), Expect::same, Reject::bad_allow_ip},
        {"msg 0.0.0.0", base("1", "0.0.0.0,tcp/22")},
        {"msg many", base("1", "1.2.3.4,tcp/1,udp/2,tcp/3,udp/4,tcp/5,udp/6,tcp/7")},
        {"msg icmp", base("1", "1.2.3.4,icmp/0"), Expect::same, Reject::bad_access},
        {"msg tcpx", base("1", "1.2.3.4,tcpx/22"), Expect::same, Reject::bad_access},
        {"msg udp icmp", base("1", "1.2.3.4,icmp/8"), Expect::same, Reject::bad_access},
        // inet_aton reads a leading 0 as octal; we keep one meaning per address.
        {"msg leading zero octet", base("1", "01.2.3.4,tcp/22"), Expect::stricter,
         Reject::bad_allow_ip},
        {"cmd", base("0", "1.2.3.4,ls -l")},
        {"cmd empty", base("0", "1.2.3.4,"), Expect::same, Reject::bad_command},
        {"cmd no comma", base("0", "1.2.3.4"), Expect::same, Reject::bad_command},
        {"nat ip", plus(base("2"), {b64("192.168.1.2,22")})},
        {"nat host", plus(base("2"), {b64("host.example,22")})},
        {"nat no port", plus(base("2"), {b64("192.168.1.2")}), Expect::same,
         Reject::bad_nat_access},
        {"nat port 0", plus(base("2"), {b64("192.168.1.2,0")}), Expect::same,
         Reject::bad_nat_access},
        {"nat space", plus(base("2"), {b64("a b,22")}), Expect::same, Reject::bad_nat_access},
        {"nat two commas", plus(base("2"), {b64("1.2.3.4,22,33")}), Expect::same,
         Reject::bad_nat_access},
        {"nat missing", base("2"), Expect::same, Reject::bad_fields},
        {"local nat", plus(base("5"), {b64("127.0.0.1,22")})},
        {"timeout", plus(base("3"), {"30"})},
        {"timeout 0", plus(base("3"), {"0"})},
        {"timeout 65536", plus(base("3"), {"65536"})},
        {"timeout 65537", plus(base("3"), {"65537"}), Expect::same, Reject::bad_client_timeout},
        {"timeout letters", plus(base("3"), {"3a"}), Expect::same, Reject::bad_client_timeout},
        {"timeout missing", base("3"), Expect::same, Reject::bad_fields},
        {"nat timeout", plus(base("4"), {b64("10.0.0.1,22"), "60"})},
        {"local nat timeout", plus(base("6"), {b64("127.0.0.1,22"), "60"})},
        {"server auth", plus(base("1"), {b64("crypt,pw")})},
        {"server auth + timeout", plus(base("3"), {b64("crypt,pw"), "30"})},
        {"nat + server auth + timeout", plus(base("4"), {b64("10.0.0.1,22"), b64("x"), "9"})},
        {"too many fields", plus(base("1"), {b64("a"), b64("b")}), Expect::same,
         Reject::bad_fields},
        {"too few fields",
         {"1234567890123456", b64("root"), "1700000000", "3.0.0", "1"},
         Expect::same,
         Reject::bad_fields},
    };

    FkoSecret s;
    s.key = secret_from_passphrase("oracle-key");
    s.hmac = HmacType::none;
    std::string err;
    auto kc = FkoKeyContext::create(s, err);
    ASSERT_TRUE(kc) << err;
    for (const auto &c : cases) {
        SCOPED_TRACE(c.name);
        const std::string pt = plaintext(c.tokens);
        std::array<char, kMaxEncoded> out;
        size_t len = 0;
        ASSERT_EQ(
            fko_seal(*kc, {reinterpret_cast<const uint8_t *>(pt.data()), pt.size()}, out, len),
            Reject::ok);
        const std::string pkt(out.data(), len);
        FkoMessage m;
        const Reject ours =
            fko_decode(*kc, {reinterpret_cast<const uint8_t *>(pkt.data()), len}, m);
        const OracleResult theirs = libfko_decode(pkt, s);
        EXPECT_EQ(ours, c.reason) << reject_name(ours) << " vs expected " << reject_name(c.reason);
        if (c.expect == Expect::same)
            EXPECT_EQ(ours == Reject::ok, theirs.accepted())
                << "ours " << reject_name(ours) << ", libfko " << theirs.error;
        else
            EXPECT_TRUE(ours != Reject::ok && theirs.accepted())
                << "ours " << reject_name(ours) << ", libfko " << theirs.error;
        if (ours == Reject::ok && theirs.accepted()) {
            EXPECT_EQ(m.message.view(), theirs.message);
            EXPECT_EQ(static_cast<int>(m.client_timeout), theirs.client_timeout);
        }
    }
}

TEST(PlaintextOracle, PaddingIsStrippedLenientlyLikeFwknop) {
    FkoSecret s;
    s.key = secret_from_passphrase("pad-key");
    s.hmac = HmacType::none;
    std::string err;
    auto kc = FkoKeyContext::create(s, err);
    const std::string pt = plaintext(base());
    auto decide = [&](std::string padded) {
        std::array<char, kMaxEncoded> out;
        size_t len = 0;
        EXPECT_EQ(fko_seal(*kc, {reinterpret_cast<const uint8_t *>(padded.data()), padded.size()},
                           out, len, nullptr, false),
                  Reject::ok);
        const std::string pkt(out.data(), len);
        FkoMessage m;
        Reject ours = fko_decode(*kc, {reinterpret_cast<const uint8_t *>(pkt.data()), len}, m);
        bool theirs = libfko_decode(pkt, s).accepted();
        EXPECT_EQ(ours == Reject::ok, theirs) << reject_name(ours);
        return ours;
    };
    const size_t fill = 16 - pt.size() % 16;
    EXPECT_EQ(decide(pt + std::string(fill, char(fill))), Reject::ok);
    // Wrong padding bytes are left in place and then fail the field checks.
    EXPECT_NE(decide(pt + std::string(fill - 1, 'x') + char(fill)), Reject::ok);
    EXPECT_NE(decide(pt + std::string(fill, '\0')), Reject::ok);
}
