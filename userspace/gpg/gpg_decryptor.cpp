#include "gpg/gpg_decryptor.hpp"

#include <gpgme.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

namespace xk::gpg {

using spa::Reject;

namespace {

// Both data objects of one operation, released however it ends.
struct DataPair {
    gpgme_data_t in = nullptr, out = nullptr;
    ~DataPair() {
        gpgme_data_release(in);
        gpgme_data_release(out);
    }
};

bool gpgme_ready(std::string &error) {
    static std::once_flag once;
    static gpgme_error_t engine = 0;
    std::call_once(once, [] {
        gpgme_check_version(nullptr);  // initialises the library; must come first
        // gpg may exit before it has read all we write: a write error, not a killed daemon.
        signal(SIGPIPE, SIG_IGN);
        engine = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
    });
    if (engine) error = std::string("gpg (GnuPG) is not usable: ") + gpgme_strerror(engine);
    return engine == 0;
}

// Whether `id` (8 or 16 hex digits) is the end of the fingerprint, as gpg's key IDs are.
bool id_matches(std::string_view fpr, std::string_view id, bool whole) {
    if (whole ? fpr.size() != id.size() : fpr.size() < id.size()) return false;
    return strncasecmp(fpr.data() + fpr.size() - id.size(), id.data(), id.size()) == 0;
}

// gpg-agent keeps a passphrase once it opened a key, and would answer for a wrong one: make
// it forget (gpgconf --reload gpg-agent), so the self-test tries the configured one.
void forget_cached_passphrases(const std::string &home) {
    gpgme_ctx_t c = nullptr;
    const char *gpgconf = gpgme_get_dirinfo("gpgconf-name");
    if (!gpgconf || gpgme_new(&c) != 0) return;
    std::vector<const char *> argv = {"gpgconf"};
    if (!home.empty()) argv.insert(argv.end(), {"--homedir", home.c_str()});
    argv.insert(argv.end(), {"--reload", "gpg-agent", nullptr});
    if (gpgme_set_protocol(c, GPGME_PROTOCOL_SPAWN) == 0)
        gpgme_op_spawn(c, gpgconf, argv.data(), nullptr, nullptr, nullptr, 0);
    gpgme_release(c);
}

}  // namespace

std::unique_ptr<GpgDecryptor> GpgDecryptor::create(const spa::GpgSettings &settings,
                                                   std::string &error) {
    if (!gpgme_ready(error)) return nullptr;
    struct stat st {};
    if (!settings.home_dir.empty() &&
        (stat(settings.home_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
        error = "gpg_home_dir " + settings.home_dir + " is not a directory";
        return nullptr;
    }
    std::unique_ptr<GpgDecryptor> d(new GpgDecryptor(settings));
    const char *home = settings.home_dir.empty() ? nullptr : settings.home_dir.c_str();
    gpgme_error_t err = gpgme_new(&d->ctx_);
    if (!err) err = gpgme_set_protocol(d->ctx_, GPGME_PROTOCOL_OpenPGP);
    if (!err) err = gpgme_ctx_set_engine_info(d->ctx_, GPGME_PROTOCOL_OpenPGP, nullptr, home);
    // Loopback: gpg asks us for the passphrase, never a pinentry on some terminal.
    if (!err) err = gpgme_set_pinentry_mode(d->ctx_, GPGME_PINENTRY_MODE_LOOPBACK);
    if (err) {
        error = "gpg_home_dir " +
                (settings.home_dir.empty() ? std::string("(gpg's default)") : settings.home_dir) +
                ": no gpgme context: " + gpgme_strerror(err);
        return nullptr;
    }
    gpgme_set_armor(d->ctx_, 0);
    gpgme_set_passphrase_cb(d->ctx_, &GpgDecryptor::passphrase, d.get());
    if (!d->self_test(error)) return nullptr;
    return d;
}

GpgDecryptor::~GpgDecryptor() {
    if (ctx_) gpgme_release(ctx_);
}

// Answers only for the gateway's key ("KEYID USER" hint, KEYID one of its keys), once: a
// message may ask for a symmetric passphrase (no hint) or another key's, at a hashing cost its
// sender chose, and gets nothing.
unsigned GpgDecryptor::passphrase(void *self, const char *uid_hint, const char *, int prev_was_bad,
                                  int fd) {
    const auto &d = *static_cast<GpgDecryptor *>(self);
    if (prev_was_bad || !uid_hint) return GPG_ERR_CANCELED;
    const std::string_view hint(uid_hint);
    if (!d.ours(hint.substr(0, hint.find(' ')))) return GPG_ERR_CANCELED;
    const auto &pw = d.settings_.decrypt_pw;
    if ((!pw.empty() && gpgme_io_writen(fd, pw.data(), pw.size()) != 0) ||
        gpgme_io_writen(fd, "\n", 1) != 0)
        return GPG_ERR_CANCELED;
    return 0;
}

// The gateway's secret key is in the keyring and the configured passphrase opens it: a
// message to it round-trips. Found at load, not at the first knock.
bool GpgDecryptor::self_test(std::string &error) {
    const std::string &id = settings_.decrypt_id;
    const std::string where =
        settings_.home_dir.empty() ? "gpg's default keyring" : "keyring " + settings_.home_dir;
    gpgme_key_t key = nullptr;
    if (gpgme_error_t e = gpgme_get_key(ctx_, id.c_str(), &key, 1); e != 0 || !key) {
        error =
            "gpg_decrypt_id " + id + ": no secret key in " + where +
            (gpgme_err_code(e) == GPG_ERR_EOF ? "" : std::string(" (") + gpgme_strerror(e) + ")");
        return false;
    }
    for (gpgme_subkey_t sk = key->subkeys; sk; sk = sk->next)
        if (sk->keyid) key_ids_.emplace_back(sk->keyid);
    forget_cached_passphrases(settings_.home_dir);
    static constexpr std::string_view kProbe = "xdpknock gpg self-test";
    DataPair data, back;
    gpgme_key_t keys[2] = {key, nullptr};
    gpgme_error_t err = gpgme_data_new_from_mem(&data.in, kProbe.data(), kProbe.size(), 0);
    if (!err) err = gpgme_data_new(&data.out);
    if (!err) err = gpgme_op_encrypt(ctx_, keys, GPGME_ENCRYPT_ALWAYS_TRUST, data.in, data.out);
    gpgme_key_unref(key);
    if (err) {
        error = "gpg_decrypt_id " + id + ": cannot encrypt to it: " + gpgme_strerror(err);
        return false;
    }
    gpgme_data_seek(data.out, 0, SEEK_SET);
    err = gpgme_data_new(&back.out);
    if (!err) err = gpgme_op_decrypt(ctx_, data.out, back.out);
    if (err) {
        error = "gpg_decrypt_id " + id + ": the key in " + where + " does not open with " +
                (settings_.allow_no_pw ? "no passphrase (gpg_allow_no_pw)" : "gpg_decrypt_pw") +
                ": " + gpgme_strerror(err);
        return false;
    }
    return true;
}

bool GpgDecryptor::ours(std::string_view keyid) const {
    return std::any_of(key_ids_.begin(), key_ids_.end(), [&](const std::string &k) {
        return k.size() == keyid.size() && strncasecmp(k.data(), keyid.data(), k.size()) == 0;
    });
}

namespace {
// gpg's output goes straight into the caller's buffer; one byte more than fits fails the
// operation, so a small message that decompresses to gigabytes stops there.
struct Sink {
    std::span<char> buf;
    size_t len = 0;
    bool overflow = false;
    static ssize_t write(void *self, const void *data, size_t size) {
        auto &s = *static_cast<Sink *>(self);
        if (size > s.buf.size() - s.len) {
            s.overflow = true;
            errno = EFBIG;
            return -1;
        }
        std::memcpy(s.buf.data() + s.len, data, size);
        s.len += size;
        return static_cast<ssize_t>(size);
    }
};
}  // namespace

Reject GpgDecryptor::open(std::span<const uint8_t> message, std::span<char> plain, size_t &len) {
    DataPair data;
    Sink sink{plain};
    gpgme_data_cbs cbs{};
    cbs.write = &Sink::write;
    if (gpgme_data_new_from_mem(&data.in, reinterpret_cast<const char *>(message.data()),
                                message.size(), 0) != 0 ||
        gpgme_data_new_from_cbs(&data.out, &cbs, &sink) != 0)
        return Reject::crypto_error;
    const gpgme_error_t err = gpgme_op_decrypt_verify(ctx_, data.in, data.out);
    if (sink.overflow) return Reject::bad_plaintext_length;
    if (err != 0 || !opened_by_our_key()) return Reject::gpg_decrypt_failed;
    if (settings_.require_sig)
        if (Reject r = judge_signature(); r != Reject::ok) return r;
    len = sink.len;
    return Reject::ok;
}

// The session key came from the gateway's key: not from a passphrase, not from another key.
bool GpgDecryptor::opened_by_our_key() const {
    gpgme_decrypt_result_t dr = gpgme_op_decrypt_result(ctx_);
    if (!dr || dr->unsupported_algorithm) return false;
    for (gpgme_recipient_t r = dr->recipients; r; r = r->next)
        if (r->keyid && gpgme_err_code(r->status) == GPG_ERR_NO_ERROR && ours(r->keyid))
            return true;
    return false;
}

// libfko's rule on the first signature (status good, signer valid at least marginally, unless
// gpg_ignore_sig_verify_error), then fwknopd's on who signed: each list given must name it.
Reject GpgDecryptor::judge_signature() const {
    gpgme_verify_result_t vr = gpgme_op_verify_result(ctx_);
    gpgme_signature_t sig = vr ? vr->signatures : nullptr;
    if (!sig) return Reject::gpg_no_signature;
    if (!settings_.ignore_sig_verify_error && (gpgme_err_code(sig->status) != GPG_ERR_NO_ERROR ||
                                               sig->validity < GPGME_VALIDITY_MARGINAL))
        return Reject::gpg_bad_signature;
    const std::string_view fpr = sig->fpr ? sig->fpr : "";
    auto named = [&](const std::vector<std::string> &ids, bool whole) {
        return ids.empty() || std::any_of(ids.begin(), ids.end(), [&](const std::string &id) {
                   return id_matches(fpr, id, whole);
               });
    };
    if (!named(settings_.remote_ids, false) || !named(settings_.fingerprint_ids, true))
        return Reject::gpg_signer_not_allowed;
    return Reject::ok;
}

}  // namespace xk::gpg
