// ns per fko decode, each beside a "crypto floor": the same OpenSSL work (HMAC, 3×MD5, AES,
// inner digest) on the same packets with objects prepared the same way, and nothing else.
// The gap between the two is what the codec itself costs.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "spa/base64.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_encode.hpp"
#include "spa/replay_digest.hpp"

using namespace xk::spa;

namespace {

constexpr size_t kPackets = 64;
constexpr std::string_view kPrefix = "U2FsdGVkX1";

FkoSecret bench_secret() {
    FkoSecret s;
    s.key = secret_from_passphrase("benchmark-rijndael-key-32bytes!!");
    s.hmac = HmacType::sha256;
    s.hmac_key = secret_from_passphrase("benchmark-hmac-key-benchmark-hmac-key-benchmark-hmac-key");
    return s;
}

// fwknop-shaped access requests (the client's default shape: one port, SHA-256 digest).
std::vector<std::string> make_packets(FkoKeyContext &kc, bool break_mac) {
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

std::span<const uint8_t> bytes(const std::string &s) {
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

// The floor's own OpenSSL objects, set up as FkoKeyContext sets up its own.
struct Floor {
    EVP_MAC *mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX *mctx = EVP_MAC_CTX_new(mac);
    EVP_MD *md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
    EVP_MD *sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX *dctx = EVP_MD_CTX_new();  // MD5 only
    EVP_MD_CTX *sctx = EVP_MD_CTX_new();  // SHA-256 only
    EVP_CIPHER *aes = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
    std::vector<uint8_t> pw;

    explicit Floor(const FkoSecret &s) : pw(s.key) {
        OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                           const_cast<char *>("SHA256"), 0),
                          OSSL_PARAM_construct_end()};
        EVP_MAC_init(mctx, s.hmac_key.data(), s.hmac_key.size(), p);
        EVP_CipherInit_ex2(cctx, aes, nullptr, nullptr, 0, nullptr);
        EVP_CIPHER_CTX_set_padding(cctx, 0);
    }
    ~Floor() {
        EVP_MAC_CTX_free(mctx);
        EVP_MAC_free(mac);
        EVP_MD_free(md5);
        EVP_MD_free(sha256);
        EVP_MD_CTX_free(dctx);
        EVP_MD_CTX_free(sctx);
        EVP_CIPHER_free(aes);
        EVP_CIPHER_CTX_free(cctx);
    }
    void hmac(std::string_view body, uint8_t *out) {
        size_t n = 0;
        EVP_MAC_init(mctx, nullptr, 0, nullptr);
        EVP_MAC_update(mctx, reinterpret_cast<const uint8_t *>(kPrefix.data()), kPrefix.size());
        EVP_MAC_update(mctx, reinterpret_cast<const uint8_t *>(body.data()), body.size());
        EVP_MAC_final(mctx, out, &n, 64);
    }
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

std::vector<Prepared> prepare(const std::vector<std::string> &pkts, FkoKeyContext &kc) {
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

void BM_DecodeAccepted(benchmark::State &st) {
    std::string err;
    auto kc = FkoKeyContext::create(bench_secret(), err);
    auto pkts = make_packets(*kc, false);
    FkoMessage m;
    size_t i = 0;
    for (auto _ : st) {
        Reject r = fko_decode(*kc, bytes(pkts[i++ % kPackets]), m);
        if (r != Reject::ok) st.SkipWithError(reject_name(r));
        benchmark::DoNotOptimize(m);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_DecodeAccepted);

void BM_FloorAccepted(benchmark::State &st) {
    std::string err;
    const FkoSecret s = bench_secret();
    auto kc = FkoKeyContext::create(s, err);
    auto prep = prepare(make_packets(*kc, false), *kc);
    Floor f(s);
    std::array<uint8_t, 1200> pt;
    size_t i = 0;
    for (auto _ : st) {
        const Prepared &p = prep[i++ % kPackets];
        uint8_t mac[64], key[32], iv[16], dg[32];
        f.hmac(p.body, mac);
        const uint8_t *salt = p.raw.data() + 8;
        EVP_DigestInit_ex2(f.dctx, f.md5, nullptr);
        EVP_DigestUpdate(f.dctx, f.pw.data(), f.pw.size());
        EVP_DigestUpdate(f.dctx, salt, 8);
        EVP_DigestFinal_ex(f.dctx, key, nullptr);
        EVP_DigestInit_ex2(f.dctx, f.md5, nullptr);
        EVP_DigestUpdate(f.dctx, key, 16);
        EVP_DigestUpdate(f.dctx, f.pw.data(), f.pw.size());
        EVP_DigestUpdate(f.dctx, salt, 8);
        EVP_DigestFinal_ex(f.dctx, key + 16, nullptr);
        EVP_DigestInit_ex2(f.dctx, f.md5, nullptr);
        EVP_DigestUpdate(f.dctx, key + 16, 16);
        EVP_DigestUpdate(f.dctx, f.pw.data(), f.pw.size());
        EVP_DigestUpdate(f.dctx, salt, 8);
        EVP_DigestFinal_ex(f.dctx, iv, nullptr);
        int n1 = 0, n2 = 0;
        EVP_CipherInit_ex2(f.cctx, nullptr, key, iv, 0, nullptr);
        EVP_CipherUpdate(f.cctx, pt.data(), &n1, p.raw.data() + 16,
                         static_cast<int>(p.raw.size() - 16));
        EVP_CipherFinal_ex(f.cctx, pt.data() + n1, &n2);
        f.sha(p.signed_part.data(), p.signed_part.size(), dg);
        benchmark::DoNotOptimize(mac);
        benchmark::DoNotOptimize(dg);
        benchmark::DoNotOptimize(pt);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_FloorAccepted);

void BM_DecodeHmacFail(benchmark::State &st) {
    std::string err;
    auto kc = FkoKeyContext::create(bench_secret(), err);
    auto pkts = make_packets(*kc, true);
    FkoMessage m;
    size_t i = 0;
    for (auto _ : st) {
        Reject r = fko_decode(*kc, bytes(pkts[i++ % kPackets]), m);
        if (r != Reject::hmac_mismatch) st.SkipWithError(reject_name(r));
        benchmark::DoNotOptimize(r);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_DecodeHmacFail);

void BM_FloorHmacFail(benchmark::State &st) {
    std::string err;
    const FkoSecret s = bench_secret();
    auto kc = FkoKeyContext::create(s, err);
    auto pkts = make_packets(*kc, true);
    std::vector<std::string> bodies;
    for (const auto &p : pkts) bodies.push_back(p.substr(0, p.size() - kc->hmac_b64_len()));
    Floor f(s);
    size_t i = 0;
    for (auto _ : st) {
        uint8_t mac[64];
        f.hmac(bodies[i++ % kPackets], mac);
        benchmark::DoNotOptimize(mac);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_FloorHmacFail);

void BM_ReplayDigest(benchmark::State &st) {
    std::string err;
    auto kc = FkoKeyContext::create(bench_secret(), err);
    auto pkts = make_packets(*kc, false);
    ReplayDigester rd;
    ReplayDigest d;
    size_t i = 0;
    for (auto _ : st) {
        rd.digest(bytes(pkts[i++ % kPackets]), d);
        benchmark::DoNotOptimize(d);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_ReplayDigest);

}  // namespace

BENCHMARK_MAIN();
