// Send side of fko (`xdpknock send`): request in, wire payload out, in a caller buffer.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spa/fko_key_context.hpp"
#include "spa/fko_types.hpp"
#include "spa/reject.hpp"

namespace xk::spa {

struct FkoRequest {
    std::string_view user = "root";
    int64_t timestamp = 0;  // Unix seconds, the caller's clock (plus any offset)
    std::string_view version = "3.0.0";
    MsgType type = MsgType::access;
    std::string_view message;      // "IPv4,tcp/22[,udp/53...]" or "IPv4,command"
    std::string_view nat_access;   // "host,port" for the NAT types
    std::string_view server_auth;  // optional, rarely used
    uint32_t client_timeout = 0;   // client-timeout types
    DigestType digest = DigestType::sha256;
    // Fixed values for tests; random (RAND_bytes) when null.
    const std::array<char, kRandLen> *rand = nullptr;
    const std::array<uint8_t, kSaltLen> *salt = nullptr;
};

// Largest wire payload fko_encode can produce.
inline constexpr size_t kMaxEncoded = kMaxWire;

// Writes the payload (no NUL) to `out`, its length to `out_len`. The plaintext is first run
// through our own parser, so we never send what we would refuse.
Reject fko_encode(FkoKeyContext &kc, const FkoRequest &req, std::span<char> out, size_t &out_len);

// Just the plaintext ("encoded data" with its digest) of fko_encode, checked the same way:
// what GPG mode encrypts to the gateway's key.
Reject fko_encode_plaintext(FkoKeyContext &kc, const FkoRequest &req, std::span<char> out,
                            size_t &out_len);

// GPG mode's wire from a binary OpenPGP message (made by gpg): its base64 without the "hQ",
// then the HMAC if the secret has one. bad_prefix when the message does not start with it.
Reject fko_wrap_gpg(FkoKeyContext &kc, std::span<const uint8_t> message, std::span<char> out,
                    size_t &out_len);

// One knock with a key context of its own (what a sender does once per knock): the payload,
// or the reason it cannot be made (a key context error goes to `error`, Reject::crypto_error).
Reject fko_knock(const FkoSecret &secret, const FkoRequest &req, std::vector<uint8_t> &payload,
                 std::string &error);

// Encrypts and MACs an arbitrary plaintext (PKCS#7-padded unless `pad` is false, in which case
// its length must be a multiple of 16). Tests use it to build odd packets.
Reject fko_seal(FkoKeyContext &kc, std::span<const uint8_t> plaintext, std::span<char> out,
                size_t &out_len, const std::array<uint8_t, kSaltLen> *salt = nullptr,
                bool pad = true);

}  // namespace xk::spa
