#pragma once
// `xdpknock import-fwknop`: a fwknopd access.conf (and optionally its fwknopd.conf) as an
// xdpknock config, so a gateway can move over without retyping keys. Text in, JSON out; the
// one look outside is the loader's own: a hook's program must be an executable here.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policy/config.hpp"

namespace xk::cli {

struct ImportResult {
    nlohmann::json config;              // passes policy::parse_config
    std::vector<std::string> warnings;  // what fwknopd did that we do not (for stderr)
};

// Throws std::runtime_error("access.conf:LINE: KEYWORD problem", or fwknopd.conf:LINE) on what
// cannot be carried over, each value checked on its own line; a key is never quoted.
// CMD_CYCLE_OPEN / CMD_CYCLE_CLOSE / CMD_CYCLE_TIMER become the range's hooks (on_authorize,
// on_expire) and timeout; fwknopd runs them without a shell, so one that needs a shell is
// refused, and $IP/$SRC/$PKT_SRC, $PORT, $PROTO become %IP%, %PORTNUM%, %PROTONUM%.
ImportResult import_fwknop(const std::string &access_conf, const std::string &fwknopd_conf,
                           const std::string &interface);

// A key file (`send`/`decode --key-file`): fwknop's own key lines, as access.conf and
// ~/.fwknoprc write them, one "KEYWORD value" (or "KEYWORD: value") per line:
//   KEY_BASE64 / KEY                 the encryption key (base64) or passphrase (required)
//   HMAC_KEY_BASE64 / HMAC_KEY       the HMAC key (optional)
//   HMAC_DIGEST_TYPE, ENCRYPTION_MODE  (optional; else hmac_type / mode)
// '#' lines and blank lines are skipped; the value is the rest of the line, trimmed. Any
// other keyword, or one given twice, is refused. Throws policy::ConfigError("NAME:LINE:
// problem") and never quotes a key.
policy::Secret parse_key_file(const std::string &text, const std::string &name,
                              const std::string &hmac_type = "sha256",
                              const std::string &mode = "cbc");

}  // namespace xk::cli
