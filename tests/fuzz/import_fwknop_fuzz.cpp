// libFuzzer target: `import-fwknop` (cli/import_fwknop.hpp) on fwknopd text. The input is an
// access.conf, then after the first NUL byte a fwknopd.conf; the access.conf part is also
// read as a key file (parse_key_file). Each must return or throw its documented error
// (std::runtime_error / policy::ConfigError); an imported config must be writable as JSON,
// hold what the importer itself decides (an HMAC type only with an HMAC key) and load.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "cli/import_fwknop.hpp"
#include "policy/config.hpp"

namespace {

[[noreturn]] void violated(const char *what, const std::string &detail) {
    std::fprintf(stderr, "import_fwknop_fuzz: %s: %s\n", what, detail.c_str());
    std::abort();
}

void importAndLoad(const std::string &access, const std::string &fwknopd) {
    xk::cli::ImportResult r;
    try {
        r = xk::cli::import_fwknop(access, fwknopd, "");
    } catch (const std::runtime_error &) {
        return;  // refused, naming the line: documented
    }
    std::string json;
    try {
        json = r.config.dump();
    } catch (const std::exception &e) {
        violated("the imported config cannot be written as JSON", e.what());
    }
    for (const auto &range : r.config["ranges"])
        for (const auto &secret : range["secrets"])
            if (secret.contains("hmac") && !secret.contains("hmac_key") &&
                !secret.contains("hmac_key_base64"))
                violated("imported an HMAC type without an HMAC key", json);
    // The header's promise: what the importer accepts, the loader accepts.
    try {
        (void)xk::policy::parse_config(json);
    } catch (const std::exception &e) {
        violated("the imported config does not load", std::string(e.what()) + "\n" + json);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string in(reinterpret_cast<const char *>(data), size);
    const size_t nul = in.find('\0');
    const std::string access = in.substr(0, nul);
    const std::string fwknopd = nul == std::string::npos ? "" : in.substr(nul + 1);
    try {
        importAndLoad(access, fwknopd);
    } catch (const std::exception &e) {
        violated("import_fwknop threw an undocumented exception", e.what());
    }
    try {
        (void)xk::cli::parse_key_file(access, "fuzz.key");
    } catch (const xk::policy::ConfigError &) {
    } catch (const std::exception &e) {
        violated("parse_key_file threw an exception other than ConfigError", e.what());
    }
    return 0;
}
