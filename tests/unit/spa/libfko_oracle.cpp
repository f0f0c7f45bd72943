#include "libfko_oracle.hpp"

#include <fko.h>

#include <string>

namespace xk::spa::test {

namespace {

int fko_mode(Mode m) {
    switch (m) {
        case Mode::ecb:
            return FKO_ENC_MODE_ECB;
        case Mode::cbc:
            return FKO_ENC_MODE_CBC;
        case Mode::cfb:
            return FKO_ENC_MODE_CFB;
        case Mode::ofb:
            return FKO_ENC_MODE_OFB;
        case Mode::ctr:
            return FKO_ENC_MODE_CTR;
        case Mode::legacy:
            return FKO_ENC_MODE_CBC_LEGACY_IV;
    }
    return FKO_ENC_MODE_UNKNOWN;
}

std::optional<std::string> opt(const char *s) {
    if (!s) return std::nullopt;
    return std::string(s);
}

}  // namespace

OracleResult libfko_decode(std::string_view packet, const FkoSecret &secret) {
    OracleResult r;
    std::string pkt(packet);
    std::string key(secret.key.begin(), secret.key.end());
    std::string hkey(secret.hmac_key.begin(), secret.hmac_key.end());
    const bool hmac = secret.hmac != HmacType::none;
    fko_ctx_t ctx = nullptr;
    r.rc = fko_new_with_data(&ctx, pkt.c_str(), key.data(), static_cast<int>(key.size()),
                             fko_mode(secret.mode), hmac ? hkey.data() : nullptr,
                             hmac ? static_cast<int>(hkey.size()) : 0,
                             hmac ? static_cast<int>(secret.hmac) : FKO_HMAC_UNKNOWN);
    if (r.rc != FKO_SUCCESS) {
        r.error = fko_errstr(r.rc);
        if (ctx) fko_destroy(ctx);
        return r;
    }
    char *s = nullptr;
    if (fko_get_rand_value(ctx, &s) == FKO_SUCCESS && s) r.rand = s;
    if (fko_get_username(ctx, &s) == FKO_SUCCESS && s) r.user = s;
    if (fko_get_version(ctx, &s) == FKO_SUCCESS && s) r.version = s;
    if (fko_get_spa_message(ctx, &s) == FKO_SUCCESS && s) r.message = s;
    s = nullptr;
    if (fko_get_spa_nat_access(ctx, &s) == FKO_SUCCESS) r.nat_access = opt(s);
    s = nullptr;
    if (fko_get_spa_server_auth(ctx, &s) == FKO_SUCCESS) r.server_auth = opt(s);
    time_t ts = 0;
    fko_get_timestamp(ctx, &ts);
    r.timestamp = ts;
    short t = -1;
    fko_get_spa_message_type(ctx, &t);
    r.type = t;
    int to = 0;
    fko_get_spa_client_timeout(ctx, &to);
    r.client_timeout = to;
    short dt = 0;
    fko_get_spa_digest_type(ctx, &dt);
    r.digest_type = dt;
    fko_destroy(ctx);
    return r;
}

}  // namespace xk::spa::test
