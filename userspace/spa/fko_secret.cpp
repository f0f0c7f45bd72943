#include "spa/fko_secret.hpp"

#include <openssl/crypto.h>

#include "spa/base64.hpp"

namespace xk::spa {

FkoSecret::~FkoSecret() {
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
    if (!hmac_key.empty()) OPENSSL_cleanse(hmac_key.data(), hmac_key.size());
}

GpgSettings::~GpgSettings() {
    if (!decrypt_pw.empty()) OPENSSL_cleanse(decrypt_pw.data(), decrypt_pw.size());
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

bool gpg_key_id_ok(std::string_view id, bool fingerprint) {
    if (fingerprint ? id.size() != 40 : id.size() != 8 && id.size() != 16) return false;
    return id.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

namespace {
const char *gpg_problem(const FkoSecret &s) {
    const GpgSettings &g = *s.gpg;
    if (!s.key.empty()) return "a GPG secret has no encryption key (GPG mode replaces it)";
    if (g.decrypt_id.empty()) return "GPG mode needs the gateway's key (gpg_decrypt_id)";
    if (g.decrypt_pw.empty() != g.allow_no_pw)
        return "GPG mode needs either gpg_decrypt_pw or gpg_allow_no_pw, not both";
    if (g.require_sig && g.remote_ids.empty() && g.fingerprint_ids.empty())
        return "a required signature needs the signers (gpg_remote_ids or gpg_fingerprint_ids)";
    for (const auto &id : g.remote_ids)
        if (!gpg_key_id_ok(id, false)) return "a gpg_remote_ids entry is not 8 or 16 hex digits";
    for (const auto &id : g.fingerprint_ids)
        if (!gpg_key_id_ok(id, true)) return "a gpg_fingerprint_ids entry is not 40 hex digits";
    return nullptr;
}
}  // namespace

const char *secret_problem(const FkoSecret &s) {
    if (s.hmac != HmacType::none && (s.hmac_key.empty() || s.hmac_key.size() > kMaxHmacKeyLen))
        return "HMAC key must be 1..136 bytes";
    if (static_cast<uint8_t>(s.hmac) > static_cast<uint8_t>(HmacType::sha3_512))
        return "unsupported HMAC type";
    if (s.gpg) return gpg_problem(s);
    if (s.key.size() > kMaxKeyLen) return "encryption key longer than 32 bytes";
    if (s.mode == Mode::legacy && s.hmac != HmacType::none)
        return "legacy IV mode cannot be combined with an HMAC";
    switch (s.mode) {
        case Mode::ecb:
        case Mode::cbc:
        case Mode::cfb:
        case Mode::ofb:
        case Mode::ctr:
        case Mode::legacy:
            return nullptr;
    }
    return "unsupported encryption mode";
}

}  // namespace xk::spa
