// The fwknopd access.conf stanza equivalent to one xdpknock fko secret, so fwknopd can judge
// the same capture.
#pragma once

#include <string>

#include "policy/config.hpp"

namespace xk::gen {

// SOURCE ANY, the keys as base64, HMAC type, mode, OPEN_PORTS and FW_ACCESS_TIMEOUT.
std::string fwknopd_access_stanza(const policy::Config &config, const policy::Range &range,
                                  const policy::Secret &secret);

}  // namespace xk::gen
