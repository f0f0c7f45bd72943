#pragma once
// The plain knock method: the UDP payload is the secret, byte for byte.

#include <cstdint>
#include <span>

namespace xk::spa {

// Constant time over the secret's bytes. A length mismatch answers at once: lengths are
// not secret (the XDP pre-filter already bounds them), contents are.
bool plain_matches(std::span<const uint8_t> payload, std::span<const uint8_t> secret);

}  // namespace xk::spa
