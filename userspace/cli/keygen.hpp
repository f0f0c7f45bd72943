#pragma once
// `xdpknock keygen`: fresh fko keys, as a config secret and as fwknop client flags.

#include <string>

namespace xk::cli {

int run_keygen(const std::string &label, const std::string &hmac_type);

}  // namespace xk::cli
