#include "spa/fko_key_context.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace xk::spa {

namespace {

const char *md_fetch_name(DigestType d) {
    switch (d) {
        case DigestType::md5:
            return "MD5";
        case DigestType::sha1:
            return "SHA1";
        case DigestType::sha256:
            return "SHA256";
        case DigestType::sha384:
            return "SHA384";
        case DigestType::sha512:
            return "SHA512";
        case DigestType::sha3_256:
            return "SHA3-256";
        case DigestType::sha3_512:
            return "SHA3-512";
    }
    return nullptr;
}

const char *cipher_fetch_name(Mode m) {
    switch (m) {
        case Mode::ecb:
            return "AES-256-ECB";
        case Mode::cbc:
        case Mode::legacy:
            return "AES-256-CBC";
        case Mode::cfb:
            return "AES-256-CFB";  // CFB128
        case Mode::ofb:
            return "AES-256-OFB";
        case Mode::ctr:
            return "AES-256-CTR";  // whole 128-bit IV as a big-endian counter
    }
    return nullptr;
}

}  // namespace

std::unique_ptr<FkoKeyContext> FkoKeyContext::create(const FkoSecret &secret, std::string &error) {
    if (const char *p = secret_problem(secret)) {
        error = p;
        return nullptr;
    }
    std::unique_ptr<FkoKeyContext> c(new FkoKeyContext());
    c->mode_ = secret.mode;
    c->gpg_ = secret.gpg.has_value();
    c->hmac_ = secret.hmac;

    if (secret.mode == Mode::legacy) {
        // fwknop's pre-2.5 IV strategy: passphrase right-padded with '0' to 16 bytes; fwknopd
        // also cuts longer legacy keys to 16.
        std::memset(c->pw_.data(), '0', kLegacyKeyLen);
        std::memcpy(c->pw_.data(), secret.key.data(), std::min(secret.key.size(), kLegacyKeyLen));
        c->pw_len_ = kLegacyKeyLen;
    } else {
        if (!secret.key.empty()) std::memcpy(c->pw_.data(), secret.key.data(), secret.key.size());
        c->pw_len_ = secret.key.size();
    }

    for (uint8_t d = 1; d <= 7; ++d) {
        c->md_[d] = EVP_MD_fetch(nullptr, md_fetch_name(static_cast<DigestType>(d)), nullptr);
        c->md_ctx_[d] = EVP_MD_CTX_new();
        if (!c->md_[d] || !c->md_ctx_[d] ||
            !EVP_DigestInit_ex2(c->md_ctx_[d], c->md_[d], nullptr)) {
            error = std::string("OpenSSL lacks ") + md_fetch_name(static_cast<DigestType>(d));
            return nullptr;
        }
    }
    c->cipher_ = EVP_CIPHER_fetch(nullptr, cipher_fetch_name(secret.mode), nullptr);
    c->cipher_ctx_ = EVP_CIPHER_CTX_new();
    // Bind the cipher now; per packet a NULL cipher re-keys the same provider context, and the
    // padding setting survives (fko's padding is handled by the codec).
    if (!c->cipher_ || !c->cipher_ctx_ ||
        !EVP_CipherInit_ex2(c->cipher_ctx_, c->cipher_, nullptr, nullptr, 0, nullptr) ||
        !EVP_CIPHER_CTX_set_padding(c->cipher_ctx_, 0)) {
        error = "OpenSSL cipher setup failed";
        return nullptr;
    }

    if (secret.hmac != HmacType::none) {
        c->mac_ = std::make_unique<HmacState>();
        if (!c->mac_->init(secret.hmac, secret.hmac_key)) {
            error = "HMAC keying failed";
            return nullptr;
        }
    }
    return c;
}

FkoKeyContext::~FkoKeyContext() {
    OPENSSL_cleanse(pw_.data(), pw_.size());
    for (EVP_MD *m : md_) EVP_MD_free(m);
    for (EVP_MD_CTX *m : md_ctx_) EVP_MD_CTX_free(m);
    EVP_CIPHER_CTX_free(cipher_ctx_);
    EVP_CIPHER_free(cipher_);
}

bool FkoKeyContext::hmac(std::string_view prefix, std::string_view body, uint8_t *out) {
    return mac_ && mac_->compute(prefix, body, out);
}

bool FkoKeyContext::derive(const uint8_t *salt, uint8_t *key32, uint8_t *iv16) {
    // D1 = MD5(pw || salt), Di = MD5(Di-1 || pw || salt); key = D1 || D2, IV = D3.
    const auto d = static_cast<size_t>(DigestType::md5);
    EVP_MD_CTX *ctx = md_ctx_[d];
    uint8_t *outs[3] = {key32, key32 + 16, iv16};
    for (int i = 0; i < 3; ++i) {
        if (!EVP_DigestInit_ex2(ctx, md_[d], nullptr)) return false;
        if (i > 0 && !EVP_DigestUpdate(ctx, outs[i - 1], 16)) return false;
        if (!EVP_DigestUpdate(ctx, pw_.data(), pw_len_) || !EVP_DigestUpdate(ctx, salt, kSaltLen) ||
            !EVP_DigestFinal_ex(ctx, outs[i], nullptr))
            return false;
    }
    return true;
}

bool FkoKeyContext::crypt(bool encrypt, const uint8_t *key32, const uint8_t *iv16,
                          const uint8_t *in, size_t len, uint8_t *out) {
    if (len % kAesBlock != 0 || len > static_cast<size_t>(INT32_MAX)) return false;
    const uint8_t *iv = mode_ == Mode::ecb ? nullptr : iv16;
    if (!EVP_CipherInit_ex2(cipher_ctx_, nullptr, key32, iv, encrypt ? 1 : 0, nullptr))
        return false;
    int n1 = 0, n2 = 0;
    if (!EVP_CipherUpdate(cipher_ctx_, out, &n1, in, static_cast<int>(len))) return false;
    if (!EVP_CipherFinal_ex(cipher_ctx_, out + n1, &n2)) return false;
    return static_cast<size_t>(n1 + n2) == len;
}

bool FkoKeyContext::digest(DigestType type, std::string_view data, uint8_t *out) {
    auto i = static_cast<size_t>(type);
    if (i == 0 || i >= md_.size()) return false;
    return EVP_DigestInit_ex2(md_ctx_[i], md_[i], nullptr) &&
           EVP_DigestUpdate(md_ctx_[i], data.data(), data.size()) &&
           EVP_DigestFinal_ex(md_ctx_[i], out, nullptr);
}

}  // namespace xk::spa
