#include "cli/fko_key_flags.hpp"

#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/import_fwknop.hpp"
#include "methods/registry.hpp"
#include "spa/fko_secret.hpp"
#include "spa/fko_types.hpp"

namespace xk::cli {

std::string read_secret_input(const std::string &path) {
    if (path != "-") return policy::read_secret_file(path);
    std::string text(std::istreambuf_iterator<char>(std::cin), {});
    if (std::cin.bad()) throw policy::ConfigError("stdin: cannot read");
    std::cin.setstate(std::ios::eofbit);  // read to its end: nothing else may expect lines
    return text;
}

void warn_secret_argument(const char *flag, const char *instead) {
    fprintf(stderr,
            "xdpknock: warning: %s puts a secret on the command line, where every local user "
            "can read it (ps, /proc/PID/cmdline); use %s\n",
            flag, instead);
}

void FkoKeyFlags::add_to(CLI::App &app) {
    auto *k = app.add_option("--key-rijndael", key, "encryption passphrase");
    auto *kb =
        app.add_option("--key-base64-rijndael", key_b64, "encryption key, base64")->excludes(k);
    auto *h = app.add_option("--key-hmac", hmac_key, "HMAC key");
    auto *hb = app.add_option("--key-base64-hmac", hmac_key_b64, "HMAC key, base64")->excludes(h);
    app.add_option("--hmac-digest-type", hmac_type,
                   "md5, sha1, sha256, sha384, sha512, sha3_256, sha3_512");
    app.add_option("-M,--encryption-mode", mode, "cbc, ecb, cfb, ofb, ctr, legacy");
    auto *f = app.add_option("--key-file", key_file,
                             "read the keys from FILE (fwknop lines: KEY_BASE64, HMAC_KEY_BASE64, "
                             "KEY, HMAC_KEY, HMAC_DIGEST_TYPE, ENCRYPTION_MODE; mode 0600; "
                             "- reads stdin)");
    f->excludes(k)->excludes(kb)->excludes(h)->excludes(hb);
    app.add_option("--config", config_path, "take the keys from this xdpknock config…")
        ->excludes(f);
    app.add_option("--range", range, "…from this range (default: the first fko range)");
}

std::vector<policy::Secret> FkoKeyFlags::secrets(uint16_t *port) const {
    if (!config_path.empty()) {
        policy::Config c = policy::load_config(config_path);
        for (const auto &r : c.ranges) {
            // Only an fko range holds the keys `send` and `decode` speak with.
            if (methods::method_of(r).name() != "fko" || (!range.empty() && r.name != range))
                continue;
            if (port) *port = r.port;
            return r.secrets;
        }
        throw CLI::ValidationError("--range", "no fko range " + range + " in " + config_path);
    }
    if (!key_file.empty()) {
        return {parse_key_file(read_secret_input(key_file), key_file == "-" ? "stdin" : key_file,
                               hmac_type, mode)};
    }
    policy::Secret s;
    s.label = "command line";
    for (const auto &[value, flag] : {std::pair{&key, "--key-rijndael"},
                                      {&key_b64, "--key-base64-rijndael"},
                                      {&hmac_key, "--key-hmac"},
                                      {&hmac_key_b64, "--key-base64-hmac"}}) {
        if (!value->empty()) warn_secret_argument(flag, "--key-file");
    }
    if (!key_b64.empty()) {
        if (!spa::secret_from_base64(key_b64, s.fko.key)) {
            throw CLI::ValidationError("--key-base64-rijndael", "not base64");
        }
    } else if (!key.empty()) {
        s.fko.key = spa::secret_from_passphrase(key);
    } else {
        throw CLI::ValidationError(
            "keys", "give --key-file, --key-rijndael/--key-base64-rijndael or --config");
    }
    if (!hmac_key_b64.empty() && !spa::secret_from_base64(hmac_key_b64, s.fko.hmac_key)) {
        throw CLI::ValidationError("--key-base64-hmac", "not base64");
    }
    if (!hmac_key.empty()) s.fko.hmac_key = spa::secret_from_passphrase(hmac_key);
    auto h = spa::parse_hmac_type(hmac_type);
    auto m = spa::parse_mode(mode);
    if (!h) throw CLI::ValidationError("--hmac-digest-type", "unknown: " + hmac_type);
    if (!m) throw CLI::ValidationError("--encryption-mode", "unknown: " + mode);
    s.fko.hmac = s.fko.hmac_key.empty() ? spa::HmacType::none : *h;
    s.fko.mode = *m;
    if (const char *problem = spa::secret_problem(s.fko)) {
        throw CLI::ValidationError("keys", problem);
    }
    return {s};
}

}  // namespace xk::cli
