// xdpknockd: the receiver. Loads the config, then either runs the gateway (daemon/gateway)
// or replays a capture through the same methods and stores (daemon/pcap_replay).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "daemon/gateway.hpp"
#include "daemon/pcap_replay.hpp"
#include "log/core_dumps.hpp"
#include "log/log.hpp"
#include "policy/config.hpp"
#include "xdpknock/maps.h"
#include "xdpknock/version.h"

namespace {

struct Flags {
    std::string config_path, pin_root = XK_PIN_ROOT, run_dir = "/run/xdpknock", pcap_path,
                             log_format = "text";
    unsigned pcap_workers = 1;
    bool keep_attached = false, verbose = false, dry_run = false, no_time_check = false,
         quiet = false;
};

void add_flags(CLI::App &app, Flags &f) {
    app.set_version_flag("--version", XK_VERSION_LINE, "print the version and commit, then exit");
    app.add_option("-c,--config", f.config_path, "JSON config file (mode 0600)")->required();
    // Kept so existing units and scripts still start: leaving the gate is what stop does.
    app.add_flag("--keep-attached", f.keep_attached,
                 "no-op: on exit the gate always stays attached (remove it with xdpknock detach)");
    app.add_option("--pin-root", f.pin_root, "bpffs folder for the pinned maps");
    app.add_option("--run-dir", f.run_dir, "folder for stats.json");
    app.add_flag("-v,--verbose", f.verbose, "debug logging (refused knocks, rate-limited)");
    app.add_option("--log-format", f.log_format, "text, or json: one object per line")
        ->check(CLI::IsMember({"text", "json"}));
    auto *pcap = app.add_option("--pcap", f.pcap_path, "replay this capture offline");
    app.add_flag("--dry-run", f.dry_run, "with --pcap: print authorizations, change nothing")
        ->needs(pcap);
    app.add_flag("--no-time-check", f.no_time_check, "with --pcap: ignore fko time windows")
        ->needs(pcap);
    app.add_flag("-q,--quiet", f.quiet, "with --pcap: print the summary only")->needs(pcap);
    app.add_option("--workers", f.pcap_workers,
                   "with --pcap: judge on N threads (same lines and counters as one)")
        ->check(CLI::Range(1u, 256u))
        ->needs(pcap);
}

xk::log::Level level_of(const std::string &name) {
    if (name == "debug") return xk::log::Level::debug;
    if (name == "warn") return xk::log::Level::warn;
    if (name == "error") return xk::log::Level::error;
    return xk::log::Level::info;
}

int dry_run(xk::policy::Config config, const Flags &f) {
    if (f.no_time_check) {
        for (auto &r : config.ranges) r.proof_time_s = 0;
    }
    return xk::daemon::replay_pcap(config, {f.pcap_path, f.quiet, f.pcap_workers});
}

}  // namespace

int main(int argc, char **argv) {
    xk::forbid_core_dumps();  // before the config's keys are read
    CLI::App app{"xdpknockd: single packet authorization gateway (XDP + AF_XDP)"};
    Flags f;
    add_flags(app, f);
    CLI11_PARSE(app, argc, argv);
    xk::log::set_format(xk::log::parse_format(f.log_format));
    if (!f.pcap_path.empty() && !f.dry_run) {
        fprintf(stderr, "xdpknockd: --pcap needs --dry-run (a capture never writes the map)\n");
        return 2;
    }
    try {
        xk::policy::Config config = xk::policy::load_config(f.config_path);
        xk::log::set_level(f.verbose ? xk::log::Level::debug : level_of(config.log_level));
        for (const auto &w : xk::policy::config_warnings(config)) XK_WARN("%s", w.c_str());
        if (f.dry_run) return dry_run(std::move(config), f);
        return xk::daemon::run_gateway(
            config, {f.pin_root, f.run_dir, f.config_path, f.verbose, XK_VERSION, XK_GIT_COMMIT});
    } catch (const xk::policy::ConfigError &e) {
        fprintf(stderr, "xdpknockd: %s\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        fprintf(stderr, "xdpknockd: %s\n", e.what());
        return 1;
    }
}
