#pragma once
// `xdpknock keygen`: fresh fko keys, as a config secret and as fwknop client flags.

#include <string>

namespace xk::cli {

int run_keygen(const std::string &label, const std::string &hmac_type);
// `send --key-gen`: the two lines `fwknop --key-gen` prints, for scripts that read them.
int run_fwknop_keygen();

}  // namespace xk::cli
