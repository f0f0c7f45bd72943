// xdpknockd: the receiver. Loads the config, attaches the gate to each interface, runs
// the knock workers and the expiry sweeper until SIGTERM/SIGINT.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "daemon/guarded_interface.hpp"
#include "log/log.hpp"
#include "policy/config.hpp"
#include "policy/knock_policy.hpp"

namespace {

xk::log::Level level_of(const std::string &name) {
    if (name == "debug") return xk::log::Level::debug;
    if (name == "warn") return xk::log::Level::warn;
    if (name == "error") return xk::log::Level::error;
    return xk::log::Level::info;
}

// Status reads this; written whole and renamed so a reader never sees half a file.
void write_stats(const std::string &run_dir,
                 const std::vector<std::unique_ptr<xk::daemon::GuardedInterface>> &ifaces) {
    nlohmann::json j = {{"pid", getpid()}, {"interfaces", nlohmann::json::array()}};
    for (const auto &i : ifaces) j["interfaces"].push_back(i->stats());
    std::string tmp = run_dir + "/stats.json.tmp";
    {
        std::ofstream out(tmp);
        out << j.dump() << "\n";
    }
    std::rename(tmp.c_str(), (run_dir + "/stats.json").c_str());
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"xdpknockd: single packet authorization gateway (XDP + AF_XDP)"};
    std::string config_path, pin_root = XK_PIN_ROOT, run_dir = "/run/xdpknock";
    bool keep_attached = false, verbose = false;
    app.add_option("-c,--config", config_path, "JSON config file (mode 0600)")->required();
    app.add_flag("--keep-attached", keep_attached,
                 "on exit leave the XDP gate attached and its maps pinned (for restarts)");
    app.add_option("--pin-root", pin_root, "bpffs folder for the pinned maps");
    app.add_option("--run-dir", run_dir, "folder for stats.json");
    app.add_flag("-v,--verbose", verbose, "debug logging (refused knocks, rate-limited)");
    CLI11_PARSE(app, argc, argv);

    xk::policy::Config config;
    try {
        config = xk::policy::load_config(config_path);
    } catch (const xk::policy::ConfigError &e) {
        fprintf(stderr, "xdpknockd: %s\n", e.what());
        return 2;
    }
    xk::log::set_level(verbose ? xk::log::Level::debug : level_of(config.log_level));

    // Map memory is charged to the memcg on current kernels; a refused raise is fine.
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &unlimited);

    // Block the stop signals before any thread starts, then wait for them here.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    xk::policy::KnockPolicy policy(config);
    std::vector<std::unique_ptr<xk::daemon::GuardedInterface>> ifaces;
    try {
        for (const auto &iface : config.interfaces) {
            ifaces.push_back(
                std::make_unique<xk::daemon::GuardedInterface>(config, policy, iface, pin_root));
        }
    } catch (const std::exception &e) {
        XK_ERROR("%s", e.what());
        for (auto &i : ifaces) i->stop(keep_attached);
        return 1;
    }
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    XK_INFO("xdpknockd running: %zu range(s), %zu protected service(s)", config.ranges.size(),
            config.services.size());

    timespec tick{1, 0};
    int sig = 0;
    while (true) {
        sig = sigtimedwait(&stop_signals, nullptr, &tick);
        if (sig == SIGTERM || sig == SIGINT) break;
        for (auto &i : ifaces) i->sweep();
        if (!ec) write_stats(run_dir, ifaces);
    }
    XK_INFO("xdpknockd: %s received, stopping", strsignal(sig));
    for (auto &i : ifaces) i->stop(keep_attached);
    std::filesystem::remove(run_dir + "/stats.json", ec);
    return 0;
}
