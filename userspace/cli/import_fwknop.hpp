#pragma once
// `xdpknock import-fwknop`: a fwknopd access.conf (and optionally its fwknopd.conf) as an
// xdpknock config, so a gateway can move over without retyping keys. Pure: text in, JSON out.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xk::cli {

struct ImportResult {
    nlohmann::json config;              // passes policy::parse_config
    std::vector<std::string> warnings;  // what fwknopd did that we do not (for stderr)
};

// Throws std::runtime_error("access.conf:LINE: problem") on what cannot be carried over.
ImportResult import_fwknop(const std::string &access_conf, const std::string &fwknopd_conf,
                           const std::string &interface);

}  // namespace xk::cli
