// fwknop's GPG mode in the codec: the wire without "hQ", the HMAC over the text with it, the
// 400-character floor, canonical base64, and the opener's verdict or plaintext taken as is
// (the OpenPGP work itself: tests/unit/gpg/gpg_decryptor_test.cpp, with gpg).

#include <gtest/gtest.h>

#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "spa/base64.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_encode.hpp"
#include "spa/fko_gpg.hpp"

using namespace xk::spa;

namespace {

// Stands in for gpg: records the message, answers with a fixed verdict and plaintext.
class FakeOpener final : public GpgOpener {
  public:
    Reject verdict = Reject::ok;
    std::string plaintext;
    std::vector<uint8_t> seen;
    Reject open(std::span<const uint8_t> m, std::span<char> plain, size_t &len) override {
        seen.assign(m.begin(), m.end());
        if (verdict != Reject::ok) return verdict;
        plaintext.copy(plain.data(), plain.size());
        len = std::min(plaintext.size(), plain.size());
        return Reject::ok;
    }
};

FkoSecret gpg_secret(bool hmac) {
    FkoSecret s;
    s.gpg = GpgSettings{};
    s.gpg->decrypt_id = "3DAF6B95F70233C338DDB3C42EA672FFFFA552D7";
    s.gpg->allow_no_pw = true;
    s.gpg->remote_ids = {"C1703B86"};
    s.hmac = hmac ? HmacType::sha256 : HmacType::none;
    if (hmac) s.hmac_key = secret_from_passphrase("gpg-hmac-key");
    return s;
}

std::unique_ptr<FkoKeyContext> context(const FkoSecret &s) {
    std::string error;
    auto kc = FkoKeyContext::create(s, error);
    EXPECT_TRUE(kc) << error;
    return kc;
}

// An OpenPGP-looking message as gpg writes one to an RSA-3072 key: 0x85, a 2-byte length.
std::vector<uint8_t> message(size_t n, uint8_t fill = 0x5a) {
    std::vector<uint8_t> m(n, fill);
    m[0] = 0x85;
    m[1] = 0x01;
    m[2] = 0x8c;
    for (size_t i = 3; i < n; ++i) m[i] = static_cast<uint8_t>(i * 7 + fill);
    return m;
}

std::string wrap(FkoKeyContext &kc, const std::vector<uint8_t> &m) {
    std::string out(kMaxWire, '\0');
    size_t n = 0;
    EXPECT_EQ(fko_wrap_gpg(kc, m, out, n), Reject::ok);
    out.resize(n);
    return out;
}

std::span<const uint8_t> bytes(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

std::string plaintext(FkoKeyContext &kc) {
    FkoRequest req;
    req.user = "alice";
    req.timestamp = 1700000000;
    req.message = "192.0.2.7,tcp/22";
    std::string out(kMaxPlaintext, '\0');
    size_t n = 0;
    EXPECT_EQ(fko_encode_plaintext(kc, req, out, n), Reject::ok);
    out.resize(n);
    return out;
}

}  // namespace

TEST(FkoGpg, WireIsTheMessageWithoutHqAndOpensToItsFields) {
    auto kc = context(gpg_secret(true));
    const auto m = message(560);
    const std::string wire = wrap(*kc, m);
    std::string text(b64_encoded_len(m.size()), '\0');
    b64_encode(m, text);
    ASSERT_EQ(text.substr(0, 2), "hQ");
    EXPECT_EQ(wire.substr(0, wire.size() - 43), text.substr(2));
    EXPECT_EQ(wire[0], 'G');  // what the XDP shape expects of an RSA-3072 message

    EXPECT_EQ(fko_verify_mac(*kc, bytes(wire)), Reject::ok);
    FakeOpener opener;
    opener.plaintext = plaintext(*kc);
    FkoMessage msg;
    ASSERT_EQ(fko_open_gpg(*kc, bytes(wire), opener, msg), Reject::ok);
    EXPECT_EQ(opener.seen, m);  // "hQ" put back: gpg sees the whole message
    EXPECT_EQ(msg.user.view(), "alice");
    EXPECT_EQ(msg.message.view(), "192.0.2.7,tcp/22");
    EXPECT_EQ(msg.timestamp, 1700000000);
}

TEST(FkoGpg, HmacCoversTheTextWithHqPutBack) {
    auto kc = context(gpg_secret(true));
    const std::string wire = wrap(*kc, message(560));
    const std::string body = wire.substr(0, wire.size() - 43);
    unsigned char mac[32];
    unsigned len = 0;
    const std::string key = "gpg-hmac-key", text = "hQ" + body;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char *>(text.data()), text.size(), mac, &len);
    std::string mac_b64(43, '\0');
    b64_encode({mac, len}, mac_b64);
    EXPECT_EQ(wire.substr(body.size()), mac_b64);

    std::string flipped = wire;
    flipped[100] = flipped[100] == 'A' ? 'B' : 'A';
    EXPECT_EQ(fko_verify_mac(*kc, bytes(flipped)), Reject::hmac_mismatch);
}

TEST(FkoGpg, ShortOrPrefixedPayloadsAreNotGpgKnocks) {
    auto kc = context(gpg_secret(false));
    EXPECT_EQ(fko_verify_mac(*kc, bytes(std::string(399, 'G'))), Reject::too_short);
    EXPECT_EQ(fko_verify_mac(*kc, bytes(std::string(400, 'G'))), Reject::ok);
    EXPECT_EQ(fko_verify_mac(*kc, bytes("hQ" + std::string(600, 'G'))), Reject::bad_prefix);
    EXPECT_EQ(fko_verify_mac(*kc, bytes(std::string(kMaxWire + 1, 'G'))), Reject::too_long);
    // A message gpg did not write to an RSA key cannot be sent in fwknop's form.
    std::string out(kMaxWire, '\0');
    size_t n = 0;
    auto m = message(560);
    m[0] = 0x84;
    EXPECT_EQ(fko_wrap_gpg(*kc, m, out, n), Reject::bad_prefix);
}

TEST(FkoGpg, OpenersVerdictAndPlaintextAreJudgedAsGiven) {
    auto kc = context(gpg_secret(false));
    const std::string wire = wrap(*kc, message(560));
    FakeOpener opener;
    FkoMessage msg;
    for (Reject r : {Reject::gpg_decrypt_failed, Reject::gpg_no_signature,
                     Reject::gpg_bad_signature, Reject::gpg_signer_not_allowed}) {
        opener.verdict = r;
        EXPECT_EQ(fko_open_gpg(*kc, bytes(wire), opener, msg), r);
    }
    opener.verdict = Reject::ok;
    opener.plaintext = "not sixteen digits:at all";
    EXPECT_EQ(fko_open_gpg(*kc, bytes(wire), opener, msg), Reject::decrypt_failed);
    opener.plaintext = plaintext(*kc);
    opener.plaintext.back() ^= 1;  // the inner digest no longer matches
    EXPECT_EQ(fko_open_gpg(*kc, bytes(wire), opener, msg), Reject::digest_mismatch);
}

TEST(FkoGpg, OneSpellingPerMessage) {
    auto kc = context(gpg_secret(false));
    const auto m = message(560);  // 560 bytes: the last base64 character has 2 unused bits
    std::string wire = wrap(*kc, m);
    FakeOpener opener;
    opener.plaintext = plaintext(*kc);
    FkoMessage msg;
    ASSERT_EQ(fko_open_gpg(*kc, bytes(wire), opener, msg), Reject::ok);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    wire.back() = alphabet[alphabet.find(wire.back()) ^ 1];  // same bytes, other tail bits
    EXPECT_EQ(fko_open_gpg(*kc, bytes(wire), opener, msg), Reject::bad_base64);
}

TEST(FkoGpg, SecretRules) {
    FkoSecret s = gpg_secret(false);
    EXPECT_EQ(secret_problem(s), nullptr);
    s.key = secret_from_passphrase("aes");
    EXPECT_NE(secret_problem(s), nullptr);
    s = gpg_secret(false);
    s.gpg->allow_no_pw = false;
    EXPECT_STREQ(secret_problem(s),
                 "GPG mode needs either gpg_decrypt_pw or gpg_allow_no_pw, not both");
    s.gpg->decrypt_pw = secret_from_passphrase("pw");
    EXPECT_EQ(secret_problem(s), nullptr);
    s.gpg->remote_ids.clear();
    EXPECT_NE(std::string(secret_problem(s)).find("gpg_remote_ids"), std::string::npos);
    s.gpg->require_sig = false;
    EXPECT_EQ(secret_problem(s), nullptr);
    s.gpg->remote_ids = {"C1703B8"};
    EXPECT_NE(secret_problem(s), nullptr);
    EXPECT_TRUE(gpg_key_id_ok("21CDB137C1703B86", false));
    EXPECT_TRUE(gpg_key_id_ok("c74830300312d44e71665d1f21cdb137c1703b86", true));
    EXPECT_FALSE(gpg_key_id_ok("C1703B86", true));
    EXPECT_FALSE(gpg_key_id_ok("C1703B8G", false));
}
