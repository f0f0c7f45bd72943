// Receive side of fwknop's GPG mode: the wire is base64 of an OpenPGP message with its first
// two characters ("hQ") cut, the HMAC (if any) over the text with them put back; what the
// message decrypts to is the same plaintext as in Rijndael mode. The OpenPGP work itself is
// behind GpgOpener (userspace/gpg: gpgme), so this stays a pure codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "spa/fko_key_context.hpp"
#include "spa/fko_types.hpp"
#include "spa/reject.hpp"

namespace xk::spa {

class GpgOpener {
  public:
    // Decrypts (and checks the signature of) one binary OpenPGP message into plain; ok with
    // its length, or why not (gpg_decrypt_failed, gpg_no_signature, …).
    virtual Reject open(std::span<const uint8_t> message, std::span<char> plain, size_t &len) = 0;

  protected:
    ~GpgOpener() = default;
};

// On a wire fko_verify_mac accepted for a GPG secret: base64 (canonical) → opener →
// fko_parse_decrypted.
Reject fko_open_gpg(FkoKeyContext &kc, std::span<const uint8_t> wire, GpgOpener &opener,
                    FkoMessage &out);

}  // namespace xk::spa
