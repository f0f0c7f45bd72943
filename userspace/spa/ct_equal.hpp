// Constant-time equality for short buffers (MACs, digests): 8 bytes per step instead of
// CRYPTO_memcmp's one, no early exit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace xk::spa {

inline bool ct_equal(const void *a, const void *b, size_t n) {
    const auto *x = static_cast<const uint8_t *>(a);
    const auto *y = static_cast<const uint8_t *>(b);
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u, v;
        std::memcpy(&u, x + i, 8);
        std::memcpy(&v, y + i, 8);
        diff |= u ^ v;
        __asm__("" : "+r"(diff));  // opaque: the compiler cannot turn this into an early exit
    }
    for (; i < n; ++i) {
        diff |= x[i] ^ y[i];
        __asm__("" : "+r"(diff));
    }
    return diff == 0;
}

}  // namespace xk::spa
