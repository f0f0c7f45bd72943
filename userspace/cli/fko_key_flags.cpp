#include "cli/fko_key_flags.hpp"

#include "spa/fko_secret.hpp"
#include "spa/fko_types.hpp"

namespace xk::cli {

void FkoKeyFlags::add_to(CLI::App &app) {
    auto *k = app.add_option("--key-rijndael", key, "encryption passphrase");
    app.add_option("--key-base64-rijndael", key_b64, "encryption key, base64")->excludes(k);
    auto *h = app.add_option("--key-hmac", hmac_key, "HMAC key");
    app.add_option("--key-base64-hmac", hmac_key_b64, "HMAC key, base64")->excludes(h);
    app.add_option("--hmac-digest-type", hmac_type,
                   "md5, sha1, sha256, sha384, sha512, sha3_256, sha3_512");
    app.add_option("-M,--encryption-mode", mode, "cbc, ecb, cfb, ofb, ctr, legacy");
    app.add_option("--config", config_path, "take the keys from this xdpknock config…");
    app.add_option("--range", range, "…from this range (default: the first fko range)");
}

std::vector<policy::Secret> FkoKeyFlags::secrets(uint16_t *port) const {
    if (!config_path.empty()) {
        policy::Config c = policy::load_config(config_path);
        for (const auto &r : c.ranges) {
            if (r.method != policy::Method::fko || (!range.empty() && r.name != range)) continue;
            if (port) *port = r.port;
            return r.secrets;
        }
        throw CLI::ValidationError("--range", "no fko range " + range + " in " + config_path);
    }
    policy::Secret s;
    s.label = "command line";
    if (!key_b64.empty()) {
        if (!spa::secret_from_base64(key_b64, s.fko.key)) {
            throw CLI::ValidationError("--key-base64-rijndael", "not base64");
        }
    } else if (!key.empty()) {
        s.fko.key = spa::secret_from_passphrase(key);
    } else {
        throw CLI::ValidationError("keys", "give --key-rijndael/--key-base64-rijndael or --config");
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
