// libfko (fwknop's own library) as a decoding oracle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "spa/fko_secret.hpp"

namespace xk::spa::test {

struct OracleResult {
    int rc = -1;  // 0 = FKO_SUCCESS
    std::string error;
    std::string rand, user, version, message;
    std::optional<std::string> nat_access, server_auth;
    int64_t timestamp = 0;
    int type = -1;
    int client_timeout = 0;
    int digest_type = 0;
    bool accepted() const { return rc == 0; }
};

// fko_new_with_data with the secret's key, mode, HMAC type and HMAC key.
OracleResult libfko_decode(std::string_view packet, const FkoSecret &secret);

}  // namespace xk::spa::test
