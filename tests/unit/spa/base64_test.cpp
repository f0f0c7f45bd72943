#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <set>
#include <string>
#include <vector>

#include "spa/base64.hpp"
#include "spa/fko_key_context.hpp"
#include "spa/reject.hpp"

using namespace xk::spa;

namespace {

std::string enc(std::string_view s) {
    std::string out(b64_encoded_len(s.size()), '\0');
    b64_encode({reinterpret_cast<const uint8_t *>(s.data()), s.size()}, out);
    return out;
}

bool dec(std::string_view s, std::string &out) {
    std::vector<uint8_t> buf(b64_decoded_max(s.size()) + 1);
    size_t n = 0;
    if (!b64_decode(s, buf, n)) return false;
    out.assign(buf.begin(), buf.begin() + static_cast<long>(n));
    return true;
}

}  // namespace

TEST(Base64, KnownVectorsWithoutPadding) {
    EXPECT_EQ(enc(""), "");
    EXPECT_EQ(enc("f"), "Zg");
    EXPECT_EQ(enc("fo"), "Zm8");
    EXPECT_EQ(enc("foo"), "Zm9v");
    EXPECT_EQ(enc("root"), "cm9vdA");
    EXPECT_EQ(enc("1.2.3.4,tcp/22"), "MS4yLjMuNCx0Y3AvMjI");
    EXPECT_EQ(enc("\xfb\xff"), "+/8");
}

TEST(Base64, RoundTripsRandomBytes) {
    for (size_t len = 0; len < 300; ++len) {
        std::vector<uint8_t> in(len);
        RAND_bytes(in.data(), static_cast<int>(len));
        std::string e(b64_encoded_len(len), '\0');
        ASSERT_EQ(b64_encode(in, e), e.size());
        std::vector<uint8_t> out(b64_decoded_max(e.size()));
        size_t n = 0;
        ASSERT_TRUE(b64_decode(e, out, n)) << len;
        ASSERT_EQ(n, len);
        EXPECT_TRUE(std::equal(in.begin(), in.end(), out.begin()));
    }
}

TEST(Base64, DecodeStopsAtPaddingAndRejectsOtherCharacters) {
    std::string s;
    ASSERT_TRUE(dec("cm9vdA==", s));
    EXPECT_EQ(s, "root");
    ASSERT_TRUE(dec("cm9vdA=garbage!", s));  // everything after '=' ignored, like fwknop
    EXPECT_EQ(s, "root");
    EXPECT_FALSE(dec("cm9v dA", s));
    EXPECT_FALSE(dec("cm9v-A", s));
    EXPECT_FALSE(dec("cm9v_A", s));
    EXPECT_FALSE(dec("cm9v\ndA", s));
    EXPECT_FALSE(dec(std::string_view("cm\0v", 4), s));
    EXPECT_FALSE(dec("cm9vd", s));  // a lone 6-bit group makes no byte
    ASSERT_TRUE(dec("", s));
    EXPECT_EQ(s, "");
}

TEST(Base64, CanonicalRefusesSetTailBits) {
    std::vector<uint8_t> out(8);
    size_t n = 0;
    EXPECT_TRUE(b64_decode("Zg", out, n, true));
    EXPECT_TRUE(b64_decode("Zh", out, n));  // lenient, like fwknop's field decoder
    EXPECT_FALSE(b64_decode("Zh", out, n, true));
    EXPECT_TRUE(b64_decode("Zm8", out, n, true));
    EXPECT_FALSE(b64_decode("Zm9", out, n, true));
}

TEST(Base64, DecodeRefusesSmallBuffer) {
    std::vector<uint8_t> out(3);
    size_t n = 0;
    EXPECT_FALSE(b64_decode("cm9vdA", out, n));
    EXPECT_EQ(b64_encode(std::vector<uint8_t>{1, 2, 3, 4}, std::span<char>()), 0u);
}

namespace {

// The decoder as the RFC says it, one character at a time: what the fast paths must equal.
bool reference_decode(std::string_view in, std::vector<uint8_t> &out, bool canonical) {
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    in = in.substr(0, in.find('='));
    if (in.size() % 4 == 1) return false;
    out.clear();
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        size_t v = kAlphabet.find(c);
        if (v == std::string::npos || c == '\0') return false;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<uint8_t>(acc >> bits));
        }
    }
    return !canonical || (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace

// The vector (SSSE3) and two-group paths against the one-character reference: every length
// to 300, random alphabet text, one stray byte of every value at a random place, tight and
// roomy output buffers.
TEST(Base64, EveryPathDecodesAsTheReference) {
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t seed = 12345;
    auto next = [&] { return seed = seed * 1103515245u + 12345u, seed >> 8; };
    for (size_t len = 0; len <= 300; ++len) {
        for (int stray = -1; stray < 256; stray += (len < 64 ? 1 : 7)) {
            std::string text(len, 'A');
            for (char &c : text) c = kAlphabet[next() % 64];
            if (stray >= 0 && len > 0) text[next() % len] = static_cast<char>(stray);
            for (bool canonical : {false, true}) {
                std::vector<uint8_t> want;
                const bool ok = reference_decode(text, want, canonical);
                for (size_t room : {b64_decoded_max(len), b64_decoded_max(len) + 16}) {
                    std::vector<uint8_t> got(room);
                    size_t n = 0;
                    ASSERT_EQ(b64_decode(text, got, n, canonical), ok)
                        << "len " << len << " stray " << stray << " room " << room;
                    if (!ok) continue;
                    ASSERT_EQ(n, want.size());
                    ASSERT_TRUE(std::equal(want.begin(), want.end(), got.begin()))
                        << "len " << len << " stray " << stray;
                    if (text.find('=') != std::string::npos) continue;
                    ASSERT_TRUE(b64_decode_unpadded(text, got, n, canonical));
                    ASSERT_TRUE(std::equal(want.begin(), want.end(), got.begin()));
                }
            }
        }
    }
}

TEST(Base64, AlphabetCheck) {
    EXPECT_TRUE(b64_all_alphabet("AZaz09+/"));
    EXPECT_FALSE(b64_all_alphabet("AZaz09+/="));
    EXPECT_FALSE(b64_all_alphabet("ab\x80"));
    EXPECT_FALSE(b64_all_alphabet("a:b"));
}

TEST(BytesToKey, MatchesOpenSslForEveryKeyLength) {
    for (size_t klen = 0; klen <= 32; ++klen) {
        FkoSecret s;
        uint8_t pw[33];
        RAND_bytes(pw, sizeof pw);
        s.key.assign(pw, pw + klen);
        s.hmac = HmacType::none;
        std::string err;
        auto kc = FkoKeyContext::create(s, err);
        ASSERT_TRUE(kc) << err;
        uint8_t salt[8];
        RAND_bytes(salt, 8);
        uint8_t key[32], iv[16], ref_key[32], ref_iv[16];
        ASSERT_TRUE(kc->derive(salt, key, iv));
        // A non-null pointer even for the empty key: OpenSSL skips derivation on NULL data.
        ASSERT_EQ(EVP_BytesToKey(EVP_aes_256_cbc(), EVP_md5(), salt, pw, static_cast<int>(klen), 1,
                                 ref_key, ref_iv),
                  32);
        EXPECT_EQ(0, memcmp(key, ref_key, 32)) << klen;
        EXPECT_EQ(0, memcmp(iv, ref_iv, 16)) << klen;
    }
}

TEST(BytesToKey, LegacyPadsWithZeroCharactersAndCutsAt16) {
    auto derive = [](std::string_view key, Mode mode, uint8_t *k, uint8_t *iv) {
        FkoSecret s;
        s.key.assign(key.begin(), key.end());
        s.mode = mode;
        s.hmac = HmacType::none;
        std::string err;
        auto kc = FkoKeyContext::create(s, err);
        const uint8_t salt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        return kc && kc->derive(salt, k, iv);
    };
    uint8_t a[32], ai[16], b[32], bi[16];
    ASSERT_TRUE(derive("testtest", Mode::legacy, a, ai));
    ASSERT_TRUE(derive("testtest00000000", Mode::cbc, b, bi));
    EXPECT_EQ(0, memcmp(a, b, 32));
    EXPECT_EQ(0, memcmp(ai, bi, 16));
    ASSERT_TRUE(derive("0123456789abcdefXYZW", Mode::legacy, a, ai));
    ASSERT_TRUE(derive("0123456789abcdef", Mode::cbc, b, bi));
    EXPECT_EQ(0, memcmp(a, b, 32));
    ASSERT_TRUE(derive("testtest", Mode::cbc, b, bi));
    EXPECT_NE(0, memcmp(a, b, 32));
}

TEST(Reject, EveryValueHasADistinctSnakeCaseName) {
    std::set<std::string> seen;
    for (size_t i = 0; i < kRejectCount; ++i) {
        std::string n = reject_name(static_cast<Reject>(i));
        EXPECT_FALSE(n.empty());
        EXPECT_EQ(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string::npos)
            << n;
        EXPECT_TRUE(seen.insert(n).second) << n;
    }
    EXPECT_STREQ(reject_name(Reject::ok), "ok");
    EXPECT_STREQ(reject_name(Reject::hmac_mismatch), "hmac_mismatch");
    EXPECT_STREQ(reject_name(static_cast<Reject>(kRejectCount)), "unknown");
}

TEST(Secret, RefusesUnusableCombinations) {
    FkoSecret s;
    s.key = secret_from_passphrase("k");
    s.hmac = HmacType::sha256;
    std::string err;
    EXPECT_FALSE(FkoKeyContext::create(s, err)) << "HMAC without key";
    s.hmac_key = std::vector<uint8_t>(137, 1);
    EXPECT_FALSE(FkoKeyContext::create(s, err)) << "HMAC key too long";
    s.hmac_key.resize(136);
    EXPECT_TRUE(FkoKeyContext::create(s, err)) << err;
    s.mode = Mode::legacy;
    EXPECT_FALSE(FkoKeyContext::create(s, err)) << "legacy with HMAC";
    s.hmac = HmacType::none;
    EXPECT_TRUE(FkoKeyContext::create(s, err)) << err;
    s.key.resize(33);
    EXPECT_FALSE(FkoKeyContext::create(s, err)) << "key too long";
    std::vector<uint8_t> k;
    EXPECT_TRUE(secret_from_base64("AAEC/w==", k));
    EXPECT_EQ(k, (std::vector<uint8_t>{0, 1, 2, 255}));
    EXPECT_FALSE(secret_from_base64("AA=EC", k));
    EXPECT_FALSE(secret_from_base64("AA!C", k));
}
