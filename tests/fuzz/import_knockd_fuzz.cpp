// libFuzzer target: `import-knockd` (cli/import_knockd.hpp) on knockd.conf text. It must
// return or throw its documented std::runtime_error; an imported config must be writable as
// JSON, hold only what the importer promises (hooks: an absolute program, no shell on text,
// no placeholder but %IP%; tcp services; a sequence or a one-time file per range) and load.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "cli/import_knockd.hpp"
#include "policy/config.hpp"

namespace {

[[noreturn]] void violated(const char *what, const std::string &detail) {
    std::fprintf(stderr, "import_knockd_fuzz: %s: %s\n", what, detail.c_str());
    std::abort();
}

void checkHook(const nlohmann::json &argv, const std::string &json) {
    if (!argv.is_array() || argv.empty()) violated("a hook without a program", json);
    const std::string program = argv[0].get<std::string>();
    if (program.empty() || program[0] != '/') violated("a hook's program is not absolute", json);
    for (const auto &word : argv) {
        std::string rest = word.get<std::string>();
        for (size_t at; (at = rest.find("%IP%")) != std::string::npos;) rest.erase(at, 4);
        if (rest.find('%') != std::string::npos) violated("a placeholder besides %IP%", json);
        if (word == "-c" && (program == "/bin/sh" || program == "/usr/bin/sh"))
            violated("a shell on text", json);
    }
}

void checkShape(const nlohmann::json &config, const std::string &json) {
    for (const auto &svc : config["services"])
        if (svc["port"].get<std::string>().rfind("tcp/", 0) != 0)
            violated("a service that is not tcp", json);
    for (const auto &range : config["ranges"]) {
        if (range["method"] != "sequence") violated("a range that is not a sequence", json);
        if (range.contains("sequence") == range.contains("one_time_sequences"))
            violated("not exactly one of sequence and one_time_sequences", json);
        if (!range.contains("hooks")) continue;
        for (const char *event : {"on_authorize", "on_expire"})
            if (range["hooks"].contains(event)) checkHook(range["hooks"][event], json);
    }
}

void importAndLoad(const std::string &conf) {
    xk::cli::KnockdImport r;
    try {
        r = xk::cli::import_knockd(conf, "");
    } catch (const std::runtime_error &) {
        return;  // refused, naming the line: documented
    }
    std::string json;
    try {
        json = r.config.dump();
    } catch (const std::exception &e) {
        violated("the imported config cannot be written as JSON", e.what());
    }
    checkShape(r.config, json);
    // The header's promise: what the importer accepts, the loader accepts.
    try {
        (void)xk::policy::parse_config(json);
    } catch (const std::exception &e) {
        violated("the imported config does not load", std::string(e.what()) + "\n" + json);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string conf(reinterpret_cast<const char *>(data), size);
    try {
        importAndLoad(conf);
    } catch (const std::exception &e) {
        violated("import_knockd threw an undocumented exception", e.what());
    }
    return 0;
}
