#include "spa/fko_secret.hpp"

#include <openssl/crypto.h>

#include "spa/base64.hpp"

namespace xk::spa {

FkoSecret::~FkoSecret() {
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
    if (!hmac_key.empty()) OPENSSL_cleanse(hmac_key.data(), hmac_key.size());
}

std::vector<uint8_t> secret_from_passphrase(std::string_view pw) {
    return std::vector<uint8_t>(pw.begin(), pw.end());
}

bool secret_from_base64(std::string_view b64, std::vector<uint8_t> &out) {
    // Trailing '=' is fine; any '=' followed by something else is not.
    size_t eq = b64.find('=');
    if (eq != std::string_view::npos && b64.find_first_not_of('=', eq) != std::string_view::npos)
        return false;
    out.assign(b64_decoded_max(b64.size()), 0);
    size_t n = 0;
    if (!b64_decode(b64, out, n)) {
        OPENSSL_cleanse(out.data(), out.size());
        out.clear();
        return false;
    }
    out.resize(n);
    return true;
}

const char *secret_problem(const FkoSecret &s) {
    if (s.key.size() > kMaxKeyLen) return "encryption key longer than 32 bytes";
    if (s.mode == Mode::legacy && s.hmac != HmacType::none)
        return "legacy IV mode cannot be combined with an HMAC";
    if (s.hmac != HmacType::none && (s.hmac_key.empty() || s.hmac_key.size() > kMaxHmacKeyLen))
        return "HMAC key must be 1..136 bytes";
    switch (s.mode) {
        case Mode::ecb:
        case Mode::cbc:
        case Mode::cfb:
        case Mode::ofb:
        case Mode::ctr:
        case Mode::legacy:
            break;
        default:
            return "unsupported encryption mode";
    }
    if (static_cast<uint8_t>(s.hmac) > static_cast<uint8_t>(HmacType::sha3_512))
        return "unsupported HMAC type";
    return nullptr;
}

}  // namespace xk::spa
