// Shared by the timing benchmark and the instruction-count driver: the packets, and the
// "crypto floor" — the same OpenSSL work as fko_decode (HMAC, 3×MD5, AES, inner digest) on the
// same packets with objects prepared the same way, and nothing else. The floor may use any
// trick the codec uses as long as it is pure crypto; none of our parsing belongs in it.
#pragma once

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "spa/base64.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_encode.hpp"
#include "spa/fko_hmac.hpp"

namespace xk::spa::bench {

constexpr size_t kPackets = 64;
constexpr std::string_view kPrefix = "U2FsdGVkX1";

inline FkoSecret bench_secret() {
    FkoSecret s;
    s.key = secret_from_passphrase("benchmark-rijndael-key-32bytes!!");
    s.hmac = HmacType::sha256;
    s.hmac_key = secret_from_passphrase("benchmark-hmac-key-benchmark-hmac-key-benchmark-hmac-key");
    return s;
}

// fwknop-shaped access requests (the client's default shape: one port, SHA-256 digest).
inline std::vector<std::string> make_packets(FkoKeyContext &kc, bool break_mac) {
    std::vector<std::string> out;
    for (size_t i = 0; i < kPackets; ++i) {
        FkoRequest req;
        req.timestamp = 1700000000 + static_cast<int64_t>(i);
        req.message = "1.2.3.4,tcp/22";
        std::array<char, kMaxEncoded> buf;
        size_t len = 0;
        if (fko_encode(kc, req, buf, len) != Reject::ok) abort();
        std::string p(buf.data(), len);
        if (break_mac) p[p.size() - 5] = p[p.size() - 5] == 'A' ? 'B' : 'A';
        out.push_back(std::move(p));
    }
    return out;
}

inline std::span<const uint8_t> bytes(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

// The floor's own OpenSSL objects, set up as FkoKeyContext sets up its own. The HMAC is the
// same precomputed-pad HmacState the codec uses: that is pure crypto, so the floor gets it too
// and the ratio keeps measuring only our own work.
struct Floor {
    EVP_MD *md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    EVP_MD *sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX *dctx = EVP_MD_CTX_new();  // MD5 only
    EVP_MD_CTX *sctx = EVP_MD_CTX_new();  // SHA-256 only
    EVP_CIPHER *aes = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
    HmacState mac;
    std::vector<uint8_t> pw;

    explicit Floor(const FkoSecret &s) : pw(s.key) {
        if (!mac.init(s.hmac, s.hmac_key)) abort();
        EVP_DigestInit_ex2(dctx, md5, nullptr);
        EVP_DigestInit_ex2(sctx, sha256, nullptr);
        EVP_CipherInit_ex2(cctx, aes, nullptr, nullptr, 0, nullptr);
        EVP_CIPHER_CTX_set_padding(cctx, 0);
    }
    ~Floor() {
        EVP_MD_free(md5);
        EVP_MD_free(sha256);
        EVP_MD_CTX_free(dctx);
        EVP_MD_CTX_free(sctx);
        EVP_CIPHER_free(aes);
        EVP_CIPHER_CTX_free(cctx);
    }
    void hmac(std::string_view body, uint8_t *out) { mac.compute(kPrefix, body, out); }
    void sha(const void *b, size_t bl, uint8_t *out) {
        EVP_DigestInit_ex2(sctx, sha256, nullptr);
        EVP_DigestUpdate(sctx, b, bl);
        EVP_DigestFinal_ex(sctx, out, nullptr);
    }
};

// Per packet, what the floor feeds OpenSSL: body (for HMAC), salt+ciphertext, the signed part.
struct Prepared {
    std::string body;
    std::vector<uint8_t> raw;  // "Salted__" salt ct
    std::string signed_part;
};

inline std::vector<Prepared> prepare(const std::vector<std::string> &pkts, FkoKeyContext &kc) {
    std::vector<Prepared> out;
    for (const auto &p : pkts) {
        Prepared pr;
        pr.body = p.substr(0, p.size() - kc.hmac_b64_len());
        std::string text = std::string(kPrefix) + pr.body;
        pr.raw.resize(b64_decoded_max(text.size()));
        size_t n = 0;
        b64_decode(text, pr.raw, n);
        pr.raw.resize(n);
        FkoMessage m;
        if (fko_decode(kc, bytes(p), m) != Reject::ok) abort();
        // Signed part length = plaintext minus ":" and the 43-char digest; recover it by
        // decrypting once here (outside the timed loop).
        uint8_t key[32], iv[16];
        std::vector<uint8_t> pt(n - 16);
        kc.derive(pr.raw.data() + 8, key, iv);
        kc.crypt(false, key, iv, pr.raw.data() + 16, n - 16, pt.data());
        size_t len = pt.size() - pt.back();
        pr.signed_part.assign(reinterpret_cast<char *>(pt.data()), len - 44);
        out.push_back(std::move(pr));
    }
    return out;
}

// One accepted packet's worth of crypto: HMAC, EVP_BytesToKey (3×MD5), AES-CBC, inner SHA-256.
struct FloorOut {
    uint8_t mac[64], key[32], iv[16], dg[32];
    std::array<uint8_t, 1200> pt;
};
inline void floor_accepted(Floor &f, const Prepared &p, FloorOut &o) {
    f.hmac(p.body, o.mac);
    const uint8_t *salt = p.raw.data() + 8;
    EVP_DigestInit_ex2(f.dctx, f.md5, nullptr);
    EVP_DigestUpdate(f.dctx, f.pw.data(), f.pw.size());
    EVP_DigestUpdate(f.dctx, salt, 8);
    EVP_DigestFinal_ex(f.dctx, o.key, nullptr);
    EVP_DigestInit_ex2(f.dctx, f.md5, nullptr);
    EVP_DigestUpdate(f.dctx, o.key, 16);
    EVP_DigestUpdate(f.dctx, f.pw.data(), f.pw.size());
    EVP_DigestUpdate(f.dctx, salt, 8);
    EVP_DigestFinal_ex(f.dctx, o.key + 16, nullptr);
    EVP_DigestInit_ex2(f.dctx, f.md5, nullptr);
    EVP_DigestUpdate(f.dctx, o.key + 16, 16);
    EVP_DigestUpdate(f.dctx, f.pw.data(), f.pw.size());
    EVP_DigestUpdate(f.dctx, salt, 8);
    EVP_DigestFinal_ex(f.dctx, o.iv, nullptr);
    int n1 = 0, n2 = 0;
    EVP_CipherInit_ex2(f.cctx, nullptr, o.key, o.iv, 0, nullptr);
    EVP_CipherUpdate(f.cctx, o.pt.data(), &n1, p.raw.data() + 16,
                     static_cast<int>(p.raw.size() - 16));
    EVP_CipherFinal_ex(f.cctx, o.pt.data() + n1, &n2);
    f.sha(p.signed_part.data(), p.signed_part.size(), o.dg);
}

}  // namespace xk::spa::bench
