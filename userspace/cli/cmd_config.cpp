// xdpknock check-config | import-fwknop: configs in and out.
#include <cstdio>
#include <fstream>

#include "cli/commands.hpp"
#include "cli/import_fwknop.hpp"
#include "cluster/cluster.hpp"
#include "log/private_file.hpp"
#include "policy/config.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"

namespace xk::cli {
namespace {

std::string slurp(const std::string &path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct ImportFlags {
    std::string access, fwknopd_conf, iface, out;
};

int run_import(const ImportFlags &f) {
    auto r = import_fwknop(slurp(f.access), f.fwknopd_conf.empty() ? "" : slurp(f.fwknopd_conf),
                           f.iface);
    for (const auto &w : r.warnings) fprintf(stderr, "xdpknock: %s\n", w.c_str());
    std::string text = r.config.dump(2) + "\n";
    policy::parse_config(text);  // what we print must load
    if (f.out.empty()) {
        fputs(text.c_str(), stdout);
        return 0;
    }
    // The keys move with it: a private file, never an existing one's mode.
    if (std::string err = write_private_file(f.out, text); !err.empty()) {
        fprintf(stderr, "xdpknock: %s\n", err.c_str());
        return 1;
    }
    return 0;
}

}  // namespace

void add_check_config(CLI::App &app, Globals &g) {
    static std::string path;
    auto *c = app.add_subcommand("check-config", "validate a config file");
    c->add_option("config", path, "JSON config file")->required();
    c->callback([&g] {
        g.rc = guarded([] {
            auto cfg = policy::load_config(path);
            // What the workers build at start: keys keyed, GPG keyrings opened (a missing key
            // or a wrong passphrase is found here, not when the daemon starts).
            policy::ReplayCache replay("", policy::KnockPolicy::replay_retention(cfg));
            policy::KnockPolicy judges(cfg, &replay);
            // The cluster's password file is read as at start (Redis itself is not asked:
            // a gateway starts, and judges alone, without it).
            if (cfg.cluster.enabled()) cluster::Cluster check(cfg.cluster, 0);
            printf("%s: ok — %zu interface(s), %zu range(s), %zu protected service(s)\n",
                   path.c_str(), cfg.interfaces.size(), cfg.ranges.size(), cfg.services.size());
            return 0;
        });
    });
}

void add_import_fwknop(CLI::App &app, Globals &g) {
    static ImportFlags f;
    auto *c = app.add_subcommand("import-fwknop", "turn a fwknopd access.conf into a config");
    c->add_option("access_conf", f.access, "fwknopd access.conf")
        ->required()
        ->check(CLI::ExistingFile);
    c->add_option("--fwknopd-conf", f.fwknopd_conf, "fwknopd.conf (port, interface, packet age)")
        ->check(CLI::ExistingFile);
    c->add_option("-i,--interface", f.iface, "interface to gate (default PCAP_INTF)");
    c->add_option("-o,--output", f.out, "write the config here, mode 0600 (default stdout)");
    c->callback([&g] { g.rc = guarded([] { return run_import(f); }); });
}

}  // namespace xk::cli
