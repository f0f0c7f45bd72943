#include "spa/fko_gpg.hpp"

#include <array>
#include <cstring>
#include <string_view>

#include "spa/base64.hpp"
#include "spa/fko_plaintext.hpp"

namespace xk::spa {

Reject fko_open_gpg(FkoKeyContext &kc, std::span<const uint8_t> wire, GpgOpener &opener,
                    FkoMessage &out) {
    if (!kc.gpg() || wire.size() > kMaxWire || wire.size() < kc.hmac_b64_len())
        return Reject::bad_secret;
    const size_t body_len = wire.size() - kc.hmac_b64_len();
    std::array<char, kGpgPrefix.size() + kMaxWire> text;
    std::memcpy(text.data(), kGpgPrefix.data(), kGpgPrefix.size());
    std::memcpy(text.data() + kGpgPrefix.size(), wire.data(), body_len);
    // Canonical base64 only, as in Rijndael mode: one spelling per message.
    std::array<uint8_t, b64_decoded_max(text.size())> message;
    size_t message_len = 0;
    if (!b64_decode({text.data(), kGpgPrefix.size() + body_len}, message, message_len, true))
        return Reject::bad_base64;

    std::array<char, kMaxPlaintext> plain;
    size_t plain_len = 0;
    if (Reject r = opener.open({message.data(), message_len}, plain, plain_len); r != Reject::ok)
        return r;
    return fko_parse_decrypted(kc, {plain.data(), plain_len}, out);
}

}  // namespace xk::spa
