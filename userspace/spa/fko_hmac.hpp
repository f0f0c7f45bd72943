// HMAC with the key's inner and outer pad states hashed once at load and copied per packet.
// OpenSSL 3.0's EVP_MAC re-init (and EVP_MD_CTX_copy_ex, which it uses) duplicates provider
// contexts on the heap: two malloc/free pairs per MAC. The digest structs of the low-level API
// are plain memory, so a copy is a memcpy. SHA-3 has no such struct: it stays on EVP_MAC.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "spa/fko_types.hpp"

typedef struct evp_mac_st EVP_MAC;
typedef struct evp_mac_ctx_st EVP_MAC_CTX;

namespace xk::spa {

class HmacState {
  public:
    HmacState() = default;
    ~HmacState();
    HmacState(const HmacState &) = delete;
    HmacState &operator=(const HmacState &) = delete;

    // False when OpenSSL lacks the digest. Keys longer than a block are hashed (RFC 2104).
    bool init(HmacType type, std::span<const uint8_t> key);
    // HMAC(key, a || b): writes hmac_raw_len(type) bytes.
    bool compute(std::string_view a, std::string_view b, uint8_t *out);

  private:
    // Room for the largest low-level digest state (SHA512_CTX, 216 bytes); checked in the .cpp.
    static constexpr size_t kStateSize = 224;
    HmacType type_ = HmacType::none;
    alignas(16) unsigned char inner_[kStateSize];
    alignas(16) unsigned char outer_[kStateSize];
    alignas(16) unsigned char work_[kStateSize];
    EVP_MAC *mac_ = nullptr;  // SHA-3 only
    EVP_MAC_CTX *mac_ctx_ = nullptr;
};

}  // namespace xk::spa
