// Per-worker cryptographic state for one fko secret, built once at config load: the HMAC keyed
// once, ciphers and digests fetched once, reusable OpenSSL contexts. Not thread-safe by design:
// each worker owns its own.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "spa/fko_hmac.hpp"
#include "spa/fko_secret.hpp"
#include "spa/fko_types.hpp"

typedef struct evp_md_st EVP_MD;
typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace xk::spa {

inline constexpr size_t kSaltLen = 8;
inline constexpr size_t kAesBlock = 16;
inline constexpr size_t kMaxHashLen = 64;
inline constexpr std::string_view kRijndaelPrefix = "U2FsdGVkX1";  // b64 of "Salted__", cut

class FkoKeyContext {
  public:
    // nullptr (with `error` set) when the secret is unusable or OpenSSL lacks an algorithm.
    static std::unique_ptr<FkoKeyContext> create(const FkoSecret &secret, std::string &error);
    ~FkoKeyContext();
    FkoKeyContext(const FkoKeyContext &) = delete;
    FkoKeyContext &operator=(const FkoKeyContext &) = delete;

    Mode mode() const { return mode_; }
    bool gpg() const { return gpg_; }
    // What fwknop cuts off the front of the base64 ciphertext: "U2FsdGVkX1", or "hQ" (GPG).
    std::string_view prefix() const { return gpg_ ? kGpgPrefix : kRijndaelPrefix; }
    HmacType hmac_type() const { return hmac_; }
    // Characters the HMAC occupies at the end of the wire payload (0 without HMAC).
    size_t hmac_b64_len() const { return b64_len_of(hmac_raw_len(hmac_)); }

    // HMAC over prefix || body with the configured key; writes hmac_raw_len() bytes.
    bool hmac(std::string_view prefix, std::string_view body, uint8_t *out);
    // OpenSSL EVP_BytesToKey(MD5, count = 1) of the (mode-adjusted) passphrase and salt.
    bool derive(const uint8_t *salt, uint8_t *key32, uint8_t *iv16);
    // AES-256 in the configured mode, no padding: `len` must be a multiple of 16.
    bool crypt(bool encrypt, const uint8_t *key32, const uint8_t *iv16, const uint8_t *in,
               size_t len, uint8_t *out);
    // Digest of `data`; writes digest_raw_len(type) bytes.
    bool digest(DigestType type, std::string_view data, uint8_t *out);

  private:
    FkoKeyContext() = default;

    Mode mode_ = Mode::cbc;
    bool gpg_ = false;
    HmacType hmac_ = HmacType::none;
    std::array<uint8_t, kMaxKeyLen> pw_{};
    size_t pw_len_ = 0;

    std::unique_ptr<HmacState> mac_;  // keyed once: pad states copied per packet
    std::array<EVP_MD *, 8> md_{};    // indexed by DigestType; [0] unused
    // One context per digest: re-initialising with the same digest keeps OpenSSL's provider
    // context, switching digests would free and allocate it every time.
    std::array<EVP_MD_CTX *, 8> md_ctx_{};
    EVP_CIPHER *cipher_ = nullptr;
    EVP_CIPHER_CTX *cipher_ctx_ = nullptr;  // cipher bound once; per packet only key and IV
};

}  // namespace xk::spa
