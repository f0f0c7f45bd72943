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

// First input byte picks what the rest is.
enum class Input : uint8_t {
    wire = 0,       // a UDP payload, decoded with all three contexts
    fields = 1,     // plaintext fields; the target appends a valid digest, seals, decodes
    plaintext = 2,  // a whole plaintext (digest included), sealed and decoded
};

}  // namespace xk::spa::fuzz
