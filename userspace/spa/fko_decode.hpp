// Receive side of fko: wire payload in, typed message or a precise Reject out. No heap.
#pragma once

#include <cstdint>
#include <span>

#include "spa/fko_key_context.hpp"
#include "spa/fko_types.hpp"
#include "spa/reject.hpp"
#include "spa/replay_digest.hpp"

namespace xk::spa {

// Order: length/prefix/alphabet → HMAC (constant time, before touching the ciphertext) →
// base64 → salt → key/IV → AES → fwknop's lenient unpadding → plaintext (digest, fields).
// Replay, time window, source proof and port policy belong to the policy layer.
Reject fko_decode(FkoKeyContext &kc, std::span<const uint8_t> wire, FkoMessage &out);

// fko_decode in its two halves, so a caller can act between them (the policy checks the
// replay cache once a packet is authentic, before spending a decryption on it):
// length, prefix and HMAC (ok at once for a secret without HMAC) … When the secret has an
// HMAC and it verified, tag_key (if given) receives the packet's replay key made from the
// tag (tag_replay_key): the MAC is computed here anyway, so the replay cache needs no hash.
Reject fko_verify_mac(FkoKeyContext &kc, std::span<const uint8_t> wire,
                      ReplayDigest *tag_key = nullptr);
// … then decrypt → unpad → fields → inner digest, on a wire fko_verify_mac accepted.
Reject fko_open(FkoKeyContext &kc, std::span<const uint8_t> wire, FkoMessage &out);

// Cheap checks that depend on no secret (length, prefix, alphabet): run once per packet
// before trying secrets. fko_decode repeats all but the alphabet scan (its base64 step refuses
// bad characters later, after the HMAC), so with an HMAC a bad character reads hmac_mismatch
// unless this ran first.
Reject fko_precheck(std::span<const uint8_t> wire);

}  // namespace xk::spa
