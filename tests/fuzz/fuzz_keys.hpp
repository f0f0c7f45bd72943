// Keys shared by the fuzz target and its seed generator, so seeds decrypt in the target.
#pragma once

#include <memory>
#include <string>

#include "spa/fko_key_context.hpp"

namespace xk::spa::fuzz {

inline constexpr const char *kKey = "fuzz-rijndael-key";
inline constexpr const char *kHmacKey = "fuzz-hmac-key-0123456789";

// 0: cbc + HMAC-SHA256, 1: cbc without HMAC, 2: legacy IV without HMAC.
inline std::unique_ptr<FkoKeyContext> fuzz_context(int which) {
    FkoSecret s;
    s.key = secret_from_passphrase(kKey);
    s.mode = which == 2 ? Mode::legacy : Mode::cbc;
    s.hmac = which == 0 ? HmacType::sha256 : HmacType::none;
    if (which == 0) s.hmac_key = secret_from_passphrase(kHmacKey);
    std::string err;
    return FkoKeyContext::create(s, err);
}

// GPG mode, without (false) and with an HMAC; signatures are gpg's business, not fuzzed.
inline std::unique_ptr<FkoKeyContext> fuzz_gpg_context(bool hmac) {
    FkoSecret s;
    s.gpg = GpgSettings{};
    s.gpg->decrypt_id = "3DAF6B95F70233C338DDB3C42EA672FFFFA552D7";
    s.gpg->allow_no_pw = true;
    s.gpg->require_sig = false;
    s.hmac = hmac ? HmacType::sha256 : HmacType::none;
    if (hmac) s.hmac_key = secret_from_passphrase(kHmacKey);
    std::string err;
    return FkoKeyContext::create(s, err);
}

// The fuzz target's stand-in for gpg: an OpenPGP message is its 3-byte header (0x85 and a
// length, as gpg writes a session-key packet to an RSA key) and then, "decrypted", the
// plaintext itself.
inline constexpr uint8_t kGpgHeader[3] = {0x85, 0x01, 0x8c};

// First input byte picks what the rest is.
enum class Input : uint8_t {
    wire = 0,       // a UDP payload, decoded with all three contexts and both GPG ones
    fields = 1,     // plaintext fields; the target appends a valid digest, seals, decodes
    plaintext = 2,  // a whole plaintext (digest included), sealed and decoded
};

}  // namespace xk::spa::fuzz
