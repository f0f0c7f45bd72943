#include "spa/plain.hpp"

#include <openssl/crypto.h>

namespace xk::spa {

bool plain_matches(std::span<const uint8_t> payload, std::span<const uint8_t> secret) {
    if (payload.size() != secret.size() || secret.empty()) return false;
    return CRYPTO_memcmp(payload.data(), secret.data(), secret.size()) == 0;
}

}  // namespace xk::spa
