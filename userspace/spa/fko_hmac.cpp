// The low-level digest API is deprecated in OpenSSL 3 but still exported; it is the only one
// whose state can be copied without the heap.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "spa/fko_hmac.hpp"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/params.h>
#include <openssl/sha.h>

namespace xk::spa {

namespace {

// One low-level digest: its state type, block size and functions.
template <typename Ctx, size_t Block, size_t Out, int (*Init)(Ctx *),
          int (*Update)(Ctx *, const void *, size_t), int (*Final)(unsigned char *, Ctx *)>
struct Md {
    using ctx_t = Ctx;
    static constexpr size_t block = Block, out = Out;
    static bool init(void *c) { return Init(static_cast<Ctx *>(c)) == 1; }
    static bool update(void *c, const void *d, size_t n) {
        return Update(static_cast<Ctx *>(c), d, n) == 1;
    }
    static bool final(void *c, unsigned char *o) { return Final(o, static_cast<Ctx *>(c)) == 1; }
};

using Md5 = Md<MD5_CTX, 64, 16, MD5_Init, MD5_Update, MD5_Final>;
using Sha1 = Md<SHA_CTX, 64, 20, SHA1_Init, SHA1_Update, SHA1_Final>;
using Sha256 = Md<SHA256_CTX, 64, 32, SHA256_Init, SHA256_Update, SHA256_Final>;
using Sha384 = Md<SHA512_CTX, 128, 48, SHA384_Init, SHA384_Update, SHA384_Final>;
using Sha512 = Md<SHA512_CTX, 128, 64, SHA512_Init, SHA512_Update, SHA512_Final>;

template <typename M>
bool keyed_pads(std::span<const uint8_t> key, void *inner, void *outer) {
    static_assert(sizeof(typename M::ctx_t) <= 224);
    uint8_t k[M::block] = {};
    if (key.size() > M::block) {
        typename M::ctx_t c;
        if (!M::init(&c) || !M::update(&c, key.data(), key.size()) || !M::final(&c, k))
            return false;
    } else if (!key.empty()) {
        std::memcpy(k, key.data(), key.size());
    }
    uint8_t pad[M::block];
    for (size_t i = 0; i < M::block; ++i) pad[i] = k[i] ^ 0x36;
    bool ok = M::init(inner) && M::update(inner, pad, M::block);
    for (size_t i = 0; i < M::block; ++i) pad[i] = k[i] ^ 0x5c;
    ok = ok && M::init(outer) && M::update(outer, pad, M::block);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    return ok;
}

template <typename M>
bool mac(const void *inner, const void *outer, void *work, std::string_view a, std::string_view b,
         uint8_t *out) {
    uint8_t ih[M::out];
    std::memcpy(work, inner, sizeof(typename M::ctx_t));
    if (!M::update(work, a.data(), a.size()) || !M::update(work, b.data(), b.size()) ||
        !M::final(work, ih))
        return false;
    std::memcpy(work, outer, sizeof(typename M::ctx_t));
    return M::update(work, ih, M::out) && M::final(work, out);
}

}  // namespace

HmacState::~HmacState() {
    OPENSSL_cleanse(inner_, sizeof(inner_));
    OPENSSL_cleanse(outer_, sizeof(outer_));
    OPENSSL_cleanse(work_, sizeof(work_));
    EVP_MAC_CTX_free(mac_ctx_);
    EVP_MAC_free(mac_);
}

bool HmacState::init(HmacType type, std::span<const uint8_t> key) {
    type_ = type;
    switch (type) {
        case HmacType::none:
            return false;
        case HmacType::md5:
            return keyed_pads<Md5>(key, inner_, outer_);
        case HmacType::sha1:
            return keyed_pads<Sha1>(key, inner_, outer_);
        case HmacType::sha256:
            return keyed_pads<Sha256>(key, inner_, outer_);
        case HmacType::sha384:
            return keyed_pads<Sha384>(key, inner_, outer_);
        case HmacType::sha512:
            return keyed_pads<Sha512>(key, inner_, outer_);
        case HmacType::sha3_256:
        case HmacType::sha3_512:
            break;
    }
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    mac_ctx_ = mac_ ? EVP_MAC_CTX_new(mac_) : nullptr;
    if (!mac_ctx_) return false;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(
        OSSL_MAC_PARAM_DIGEST,
        const_cast<char *>(type == HmacType::sha3_256 ? "SHA3-256" : "SHA3-512"), 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(mac_ctx_, key.data(), key.size(), params) == 1;
}

bool HmacState::compute(std::string_view a, std::string_view b, uint8_t *out) {
    switch (type_) {
        case HmacType::none:
            return false;
        case HmacType::md5:
            return mac<Md5>(inner_, outer_, work_, a, b, out);
        case HmacType::sha1:
            return mac<Sha1>(inner_, outer_, work_, a, b, out);
        case HmacType::sha256:
            return mac<Sha256>(inner_, outer_, work_, a, b, out);
        case HmacType::sha384:
            return mac<Sha384>(inner_, outer_, work_, a, b, out);
        case HmacType::sha512:
            return mac<Sha512>(inner_, outer_, work_, a, b, out);
        case HmacType::sha3_256:
        case HmacType::sha3_512:
            break;
    }
    // A NULL key re-initialises from the stored key.
    size_t n = 0;
    return mac_ctx_ && EVP_MAC_init(mac_ctx_, nullptr, 0, nullptr) &&
           EVP_MAC_update(mac_ctx_, reinterpret_cast<const uint8_t *>(a.data()), a.size()) &&
           EVP_MAC_update(mac_ctx_, reinterpret_cast<const uint8_t *>(b.data()), b.size()) &&
           EVP_MAC_final(mac_ctx_, out, &n, 64) && n == hmac_raw_len(type_);
}

}  // namespace xk::spa
