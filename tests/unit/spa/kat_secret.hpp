// Builds an FkoSecret from a kat.json access.conf stanza.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "spa/fko_secret.hpp"

namespace xk::spa::test {

inline FkoSecret secret_from_stanza(const nlohmann::json &st) {
    FkoSecret s;
    if (st.contains("key_base64"))
        secret_from_base64(st["key_base64"].get<std::string>(), s.key);
    else
        s.key = secret_from_passphrase(st["key"].get<std::string>());
    s.mode = *parse_mode(st["mode"].get<std::string>());
    if (st["hmac"].is_null()) {
        s.hmac = HmacType::none;
    } else {
        s.hmac = *parse_hmac_type(st["hmac"].get<std::string>());
        if (st.contains("hmac_key_base64"))
            secret_from_base64(st["hmac_key_base64"].get<std::string>(), s.hmac_key);
        else
            s.hmac_key = secret_from_passphrase(st["hmac_key"].get<std::string>());
    }
    return s;
}

inline std::string conformance_path(const char *file) {
    return std::string(XDPKNOCK_SHARED_DIR) + "/conformance/fwknop-upstream/" + file;
}

inline nlohmann::json load_json(const char *file) {
    std::ifstream f(conformance_path(file));
    return nlohmann::json::parse(f);
}

}  // namespace xk::spa::test
