// One configured fko secret: what access.conf calls KEY / KEY_BASE64, HMAC_KEY(_BASE64),
// HMAC_DIGEST_TYPE and ENCRYPTION_MODE.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "spa/fko_types.hpp"

namespace xk::spa {

inline constexpr size_t kMaxKeyLen = 32;
inline constexpr size_t kMaxHmacKeyLen = 136;
inline constexpr size_t kLegacyKeyLen = 16;

struct FkoSecret {
    std::vector<uint8_t> key;  // 0..32 raw bytes
    Mode mode = Mode::cbc;
    HmacType hmac = HmacType::sha256;
    std::vector<uint8_t> hmac_key;  // 1..136 raw bytes unless hmac == none

    FkoSecret() = default;
    FkoSecret(const FkoSecret &) = default;
    FkoSecret &operator=(const FkoSecret &) = default;
    ~FkoSecret();  // wipes the key bytes
};

// KEY: the passphrase bytes as written. KEY_BASE64: the decoded bytes (may contain NUL).
std::vector<uint8_t> secret_from_passphrase(std::string_view pw);
// Accepts '='-padded or unpadded standard base64; false on bad characters.
bool secret_from_base64(std::string_view b64, std::vector<uint8_t> &out);

// Why a secret cannot be used, or nullptr when it can.
const char *secret_problem(const FkoSecret &s);

}  // namespace xk::spa
