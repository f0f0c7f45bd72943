// The replay-cache key of a packet: its HMAC tag when the secret that verified it has an HMAC
// (tag_replay_key), else the SHA-256 of the wire payload exactly as received, as fwknopd
// computes it for every packet.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>

typedef struct evp_md_st EVP_MD;
typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace xk::spa {

using ReplayDigest = std::array<uint8_t, 32>;
inline constexpr size_t kReplayDigestB64Len = 43;

// Per worker: SHA-256 fetched on the first digest (HMAC packets never need one, and a
// plain-only config never starts OpenSSL: its first fetch costs ~2 MiB resident), context
// reused. Not thread-safe.
class ReplayDigester {
  public:
    ReplayDigester() = default;
    ~ReplayDigester();
    ReplayDigester(const ReplayDigester &) = delete;
    ReplayDigester &operator=(const ReplayDigester &) = delete;

    // False once a fetch failed (every digest then fails: the caller refuses the packet).
    // An fko secret's key context fetches SHA-256 at config load, so a config that can need
    // a digest has already shown it is there.
    bool ok() const { return !tried_ || (md_ && ctx_); }
    bool digest(std::span<const uint8_t> wire, ReplayDigest &out);

  private:
    bool init();

    bool tried_ = false;
    EVP_MD *md_ = nullptr;
    EVP_MD_CTX *ctx_ = nullptr;
};

// The key of a packet whose HMAC verified: its tag. Exactly as strong as SHA-256(wire):
// - The tag is HMAC(key, "U2FsdGVkX1" || every wire byte before the tag), and fko_verify_mac
//   compares the wire's tag *as text* with the one canonical base64 of the MAC it computed.
//   So a verified body has exactly one verified wire: two verified wires with one tag have one
//   body (else the tag is a MAC collision) and one tag text, i.e. they are the same wire. The
//   tag names the wire as its SHA-256 does, and one wire always gives one tag: a replay (the
//   same wire again) meets the same key.
// - Without the HMAC key nobody can make a second verifying wire, let alone one with a given
//   tag (that is a forgery). A key holder can only make two bodies share a tag (e.g. HMAC-MD5
//   collisions under a key he knows) to have his own second knock refused as a replay.
// - The key names the wire, never the secret or the range: the same wire tried against another
//   range that shares the HMAC key must find the first record (a key per secret would let a
//   second range sharing both keys accept it again). A tag equal under two different keys or
//   digest types is a 2^-128 (MD5) to 2^-256 accident, and a key collision can only refuse a
//   knock, never accept one.
// - Tags longer than 32 bytes (SHA-384/512, SHA3-512) keep their first 32 (still 256 bits no one
//   can forge); shorter ones (MD5 16, SHA-1 20) are zero-padded with their length in the last
//   byte, so they never alias a longer tag or a wire digest but by that same accident.
// - A wire judged by a secret without an HMAC keeps the SHA-256 of the wire (and a digest of
//   what it says, methods/fko.cpp). One wire accepted both ways would need a valid HMAC tail
//   that also decrypts to a valid message under the other secret: no sender makes that.
inline ReplayDigest tag_replay_key(std::span<const uint8_t> tag) {
    ReplayDigest key{};
    std::memcpy(key.data(), tag.data(), std::min(tag.size(), key.size()));
    if (tag.size() < key.size()) key.back() = static_cast<uint8_t>(tag.size());
    return key;
}

// One-shot form (fetches SHA-256 each call): fine outside the hot path.
ReplayDigest replay_digest(std::span<const uint8_t> wire);
// fwknop's digest-cache form: unpadded base64, 43 characters.
std::array<char, kReplayDigestB64Len> replay_digest_b64(const ReplayDigest &d);

}  // namespace xk::spa
