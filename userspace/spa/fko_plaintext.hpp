// The decrypted "encoded data": rand:user:ts:version:type:msg[:nat][:auth][:timeout]:digest.
#pragma once

#include <string_view>

#include "spa/fko_key_context.hpp"
#include "spa/fko_types.hpp"
#include "spa/reject.hpp"

namespace xk::spa {

// Structure → inner digest (constant time) → every field with its FKO-WIRE.md limit.
// Verifying the digest before reading fields keeps the field parser behind an integrity check
// even for secrets without HMAC.
Reject fko_parse_plaintext(FkoKeyContext &kc, std::string_view pt, FkoMessage &out);

// What a decryption yielded: fwknop demands 16 digits and a ':' before anything else, which
// is where a wrong key shows first (decrypt_failed); then fko_parse_plaintext.
Reject fko_parse_decrypted(FkoKeyContext &kc, std::string_view pt, FkoMessage &out);

// Whether a knock could carry this user name: printable ASCII, 1..48 bytes, none of libfko's
// banned characters. A range's "users" must pass, or no knock could ever match them.
bool fko_user_name_ok(std::string_view user);

}  // namespace xk::spa
