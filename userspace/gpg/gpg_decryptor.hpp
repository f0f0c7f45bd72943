// One worker's gpgme context for one GPG secret: the gateway's key (gpg_decrypt_id) in its
// keyring (gpg_home_dir), unlocked by gpg_decrypt_pw through loopback pinentry, and the
// signature rules of libfko and fwknopd. Each call runs gpg (milliseconds): callers bound it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spa/fko_gpg.hpp"
#include "spa/fko_secret.hpp"

struct gpgme_context;

namespace xk::gpg {

class GpgDecryptor final : public spa::GpgOpener {
  public:
    // nullptr with `error` set (naming the keyword) when gpg is missing, the keyring or the
    // gateway's secret key is not there, or the passphrase does not unlock it.
    static std::unique_ptr<GpgDecryptor> create(const spa::GpgSettings &settings,
                                                std::string &error);
    ~GpgDecryptor();
    GpgDecryptor(const GpgDecryptor &) = delete;
    GpgDecryptor &operator=(const GpgDecryptor &) = delete;

    spa::Reject open(std::span<const uint8_t> message, std::span<char> plain, size_t &len) override;

  private:
    explicit GpgDecryptor(const spa::GpgSettings &settings) : settings_(settings) {}
    bool self_test(std::string &error);
    bool ours(std::string_view keyid) const;
    bool opened_by_our_key() const;
    spa::Reject judge_signature() const;
    static unsigned passphrase(void *self, const char *, const char *, int prev_was_bad, int fd);

    spa::GpgSettings settings_;         // holds the passphrase (wiped by ~GpgSettings)
    std::vector<std::string> key_ids_;  // the gateway key's and its subkeys' 16-digit IDs
    gpgme_context *ctx_ = nullptr;
};

}  // namespace xk::gpg
