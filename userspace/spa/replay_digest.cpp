#include "spa/replay_digest.hpp"

#include <openssl/evp.h>

#include "spa/base64.hpp"

namespace xk::spa {

ReplayDigester::~ReplayDigester() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
}

bool ReplayDigester::init() {
    if (!tried_) {
        tried_ = true;
        md_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        ctx_ = EVP_MD_CTX_new();
    }
    return md_ && ctx_;
}

bool ReplayDigester::digest(std::span<const uint8_t> wire, ReplayDigest &out) {
    return init() && EVP_DigestInit_ex2(ctx_, md_, nullptr) &&
           EVP_DigestUpdate(ctx_, wire.data(), wire.size()) &&
           EVP_DigestFinal_ex(ctx_, out.data(), nullptr);
}

ReplayDigest replay_digest(std::span<const uint8_t> wire) {
    ReplayDigest d{};
    ReplayDigester r;
    r.digest(wire, d);
    return d;
}

std::array<char, kReplayDigestB64Len> replay_digest_b64(const ReplayDigest &d) {
    std::array<char, kReplayDigestB64Len> out;
    b64_encode(d, out);
    return out;
}

}  // namespace xk::spa
