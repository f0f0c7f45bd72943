// One configured fko secret: what access.conf calls KEY / KEY_BASE64, HMAC_KEY(_BASE64),
// HMAC_DIGEST_TYPE and ENCRYPTION_MODE, or its GPG_* keywords for fwknop's GPG mode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spa/fko_types.hpp"

namespace xk::spa {

inline constexpr size_t kMaxKeyLen = 32;
inline constexpr size_t kMaxHmacKeyLen = 136;
inline constexpr size_t kLegacyKeyLen = 16;

// fwknop's GPG mode: the message is an OpenPGP message to the gateway's key, signed by
// the client's (access.conf's GPG_* keywords).
struct GpgSettings {
    std::string home_dir;    // GPG_HOME_DIR: the keyring; empty: gpg's default
    std::string decrypt_id;  // GPG_DECRYPT_ID: the gateway's key, which must have its secret
    std::vector<uint8_t> decrypt_pw;  // GPG_DECRYPT_PW: its passphrase (wiped) …
    bool allow_no_pw = false;         // … or GPG_ALLOW_NO_PW: it has none
    // GPG_REMOTE_ID (a signer's key ID: the fingerprint's last 8 or 16 hex digits) and
    // GPG_FINGERPRINT_ID (its whole 40): each list given must name the signer, as fwknopd
    // checks both; a required signature needs at least one list (fwknopd refuses none).
    std::vector<std::string> remote_ids, fingerprint_ids;
    bool require_sig = true;               // GPG_REQUIRE_SIG (GPG_DISABLE_SIG turns it off)
    bool ignore_sig_verify_error = false;  // GPG_IGNORE_SIG_VERIFY_ERROR

    GpgSettings() = default;
    GpgSettings(const GpgSettings &) = default;
    GpgSettings &operator=(const GpgSettings &) = default;
    ~GpgSettings();  // wipes the passphrase
};

struct FkoSecret {
    std::vector<uint8_t> key;  // 0..32 raw bytes (none in GPG mode)
    Mode mode = Mode::cbc;
    HmacType hmac = HmacType::sha256;
    std::vector<uint8_t> hmac_key;   // 1..136 raw bytes unless hmac == none
    std::optional<GpgSettings> gpg;  // GPG mode instead of Rijndael

    FkoSecret() = default;
    FkoSecret(const FkoSecret &) = default;
    FkoSecret &operator=(const FkoSecret &) = default;
    ~FkoSecret();  // wipes the key bytes
};

// KEY: the passphrase bytes as written. KEY_BASE64: the decoded bytes (may contain NUL).
std::vector<uint8_t> secret_from_passphrase(std::string_view pw);
// Accepts '='-padded or unpadded standard base64; false on bad characters.
bool secret_from_base64(std::string_view b64, std::vector<uint8_t> &out);

// Whether a GPG key ID or fingerprint is written as one: 8, 16 or 40 hex digits.
bool gpg_key_id_ok(std::string_view id, bool fingerprint);

// Why a secret cannot be used, or nullptr when it can.
const char *secret_problem(const FkoSecret &s);

}  // namespace xk::spa
