// The replay-cache key: SHA-256 of the wire payload exactly as received (HMAC included), as
// fwknopd computes it, so a cache imported from fwknop keeps working.
#pragma once

#include <array>
#include <cstdint>
#include <span>

typedef struct evp_md_st EVP_MD;
typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace xk::spa {

using ReplayDigest = std::array<uint8_t, 32>;
inline constexpr size_t kReplayDigestB64Len = 43;

// Per worker: SHA-256 fetched once, context reused. Not thread-safe.
class ReplayDigester {
  public:
    ReplayDigester();
    ~ReplayDigester();
    ReplayDigester(const ReplayDigester &) = delete;
    ReplayDigester &operator=(const ReplayDigester &) = delete;

    bool ok() const { return md_ && ctx_; }
    bool digest(std::span<const uint8_t> wire, ReplayDigest &out);

  private:
    EVP_MD *md_ = nullptr;
    EVP_MD_CTX *ctx_ = nullptr;
};

// One-shot form (fetches SHA-256 each call): fine outside the hot path.
ReplayDigest replay_digest(std::span<const uint8_t> wire);
// fwknop's digest-cache form: unpadded base64, 43 characters.
std::array<char, kReplayDigestB64Len> replay_digest_b64(const ReplayDigest &d);

}  // namespace xk::spa
