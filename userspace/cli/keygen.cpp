#include "cli/keygen.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "spa/base64.hpp"

namespace xk::cli {
namespace {

// Base64 of n random bytes, padded the way fwknop --key-gen prints keys.
std::string random_b64(size_t n) {
    std::array<uint8_t, 64> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    std::string out(spa::b64_encoded_len(n) + 3, '\0');
    out.resize(spa::b64_encode({raw.data(), n}, out));
    while (out.size() % 4) out.push_back('=');
    OPENSSL_cleanse(raw.data(), raw.size());
    return out;
}

}  // namespace

int run_keygen(const std::string &label, const std::string &hmac_type) {
    // Same sizes as fwknop --key-gen: 32-byte AES key, 64-byte HMAC key.
    const std::string key = random_b64(32), hmac = random_b64(64);
    nlohmann::json secret = {{"label", label},
                             {"key_base64", key},
                             {"hmac_key_base64", hmac},
                             {"hmac", hmac_type},
                             {"mode", "cbc"}};
    printf("config secret:  %s\n", secret.dump().c_str());
    printf(
        "fwknop client:  --key-base64-rijndael %s --key-base64-hmac %s --use-hmac "
        "--hmac-digest-type %s\n",
        key.c_str(), hmac.c_str(), hmac_type.c_str());
    printf(
        "fwknopd access.conf:\n    KEY_BASE64 %s\n    HMAC_KEY_BASE64 %s\n"
        "    HMAC_DIGEST_TYPE %s\n",
        key.c_str(), hmac.c_str(), hmac_type.c_str());
    return 0;
}

int run_fwknop_keygen() {
    const std::string key = random_b64(32), hmac = random_b64(64);
    printf("KEY_BASE64: %s\nHMAC_KEY_BASE64: %s\n", key.c_str(), hmac.c_str());
    return 0;
}

}  // namespace xk::cli
