// xdpknock import-knockd: a knockd.conf in, a config out (cli/import_knockd.hpp).
#include <cstdio>
#include <fstream>

#include "cli/commands.hpp"
#include "cli/import_knockd.hpp"
#include "log/private_file.hpp"
#include "policy/config.hpp"

namespace xk::cli {
namespace {

struct KnockdFlags {
    std::string conf = "/etc/knockd.conf", iface, out;
};

int run_import_knockd(const KnockdFlags &f) {
    std::ifstream in(f.conf, std::ios::binary);
    if (!in) throw std::runtime_error(f.conf + ": cannot read");
    const std::string text(std::istreambuf_iterator<char>(in), {});
    const KnockdImport r = import_knockd(text, f.iface);
    for (const auto &n : r.notes) fprintf(stderr, "xdpknock: %s\n", n.c_str());
    const std::string json = r.config.dump(2) + "\n";
    policy::parse_config(json);  // what we write must load
    if (f.out.empty()) {
        fputs(json.c_str(), stdout);
        return 0;
    }
    // As import-fwknop: a private file, never an existing one's mode or a symlink's target.
    if (std::string err = write_private_file(f.out, json); !err.empty()) {
        fprintf(stderr, "xdpknock: %s\n", err.c_str());
        return 1;
    }
    return 0;
}

}  // namespace

void add_import_knockd(CLI::App &app, Globals &g) {
    static KnockdFlags f;
    auto *c = app.add_subcommand("import-knockd", "turn a knockd.conf into a config");
    c->add_option("knockd_conf", f.conf, "knockd.conf (default /etc/knockd.conf)")
        ->check(CLI::ExistingFile);
    c->add_option("-i,--interface", f.iface, "interface to gate (default [options] Interface)");
    c->add_option("-o,--output", f.out, "write the config here, mode 0600 (default stdout)");
    c->callback([&g] { g.rc = guarded([] { return run_import_knockd(f); }); });
}

}  // namespace xk::cli
