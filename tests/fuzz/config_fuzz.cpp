// libFuzzer target: the config loader (policy::parse_config) on JSON of every shape, huge
// numbers and deep nesting (json_mutator.hpp). It must load or throw policy::ConfigError, its
// documented error, naming where: any other exception, a crash or a sanitizer report is a
// finding. A loaded config must also answer what the daemon asks of it at start.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "json_mutator.hpp"
#include "policy/config.hpp"

namespace {

[[noreturn]] void violated(const char *what, const char *detail) {
    std::fprintf(stderr, "config_fuzz: %s: %s\n", what, detail);
    std::abort();
}

void useLoaded(const xk::policy::Config &config) {
    (void)xk::policy::config_warnings(config);
    for (const auto &r : config.ranges) {
        // A revoke sequence opens nothing by design; every other range opens something.
        if (r.secrets.empty() || r.sources.empty() || r.open.empty() != r.sequence.revoke)
            violated(
                "loaded a range without secrets or sources, or whose open ports do not "
                "match its revoke",
                r.name.c_str());
        if (xk::policy::entries_per_source(r, config) == 0)
            violated("a range takes no map entry per source (its quota would divide by 0)",
                     r.name.c_str());
    }
    if (config.interfaces.empty()) violated("loaded a config without interfaces", "");
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seed) {
    static xk::fuzz::JsonMutator mutator(seed);
    return mutator.mutate(data, size, maxSize);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
        useLoaded(xk::policy::parse_config(text));
    } catch (const xk::policy::ConfigError &e) {
        if (!*e.what()) violated("ConfigError without a message", "");
    } catch (const std::exception &e) {
        violated("an exception other than ConfigError", e.what());
    }
    return 0;
}
