// xdpknockd: the receiver. Loads the config, attaches the gate to each interface, runs
// the knock workers and the expiry sweeper until SIGTERM/SIGINT.
#include <fcntl.h>
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
#include "daemon/pcap_replay.hpp"
#include "log/log.hpp"
#include "policy/config.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "wake/wake_service.hpp"

namespace {

xk::log::Level level_of(const std::string &name) {
    if (name == "debug") return xk::log::Level::debug;
    if (name == "warn") return xk::log::Level::warn;
    if (name == "error") return xk::log::Level::error;
    return xk::log::Level::info;
}

// Status reads this; written whole and renamed so a reader never sees half a file.
void write_stats(const std::string &run_dir,
                 const std::vector<std::unique_ptr<xk::daemon::GuardedInterface>> &ifaces,
                 const xk::wake::WakeService *wake) {
    nlohmann::json j = {{"pid", getpid()}, {"interfaces", nlohmann::json::array()}};
    for (const auto &i : ifaces) j["interfaces"].push_back(i->stats());
    if (wake) j["hosts"] = wake->stats();
    // Private (it names sources and hosts), never through a planted symlink.
    std::string tmp = run_dir + "/stats.json.tmp", text = j.dump() + "\n";
    unlink(tmp.c_str());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    if (ok) std::rename(tmp.c_str(), (run_dir + "/stats.json").c_str());
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"xdpknockd: single packet authorization gateway (XDP + AF_XDP)"};
    std::string config_path, pin_root = XK_PIN_ROOT, run_dir = "/run/xdpknock";
    std::string pcap_path;
    bool keep_attached = false, verbose = false, dry_run = false, no_time_check = false,
         quiet = false;
    app.add_option("-c,--config", config_path, "JSON config file (mode 0600)")->required();
    // Kept so existing units and scripts still start: leaving the gate is now the default.
    app.add_flag("--keep-attached", keep_attached,
                 "no-op: on exit the gate always stays attached (remove it with xdpknock detach)");
    app.add_option("--pin-root", pin_root, "bpffs folder for the pinned maps");
    app.add_option("--run-dir", run_dir, "folder for stats.json");
    app.add_flag("-v,--verbose", verbose, "debug logging (refused knocks, rate-limited)");
    auto *pcap_opt = app.add_option("--pcap", pcap_path, "replay this capture offline");
    app.add_flag("--dry-run", dry_run, "with --pcap: print authorizations, change nothing")
        ->needs(pcap_opt);
    app.add_flag("--no-time-check", no_time_check, "with --pcap: ignore fko time windows")
        ->needs(pcap_opt);
    app.add_flag("-q,--quiet", quiet, "with --pcap: print the summary only")->needs(pcap_opt);
    CLI11_PARSE(app, argc, argv);
    if (!pcap_path.empty() && !dry_run) {
        fprintf(stderr, "xdpknockd: --pcap needs --dry-run (a capture never writes the map)\n");
        return 2;
    }

    xk::policy::Config config;
    try {
        config = xk::policy::load_config(config_path);
    } catch (const xk::policy::ConfigError &e) {
        fprintf(stderr, "xdpknockd: %s\n", e.what());
        return 2;
    }
    xk::log::set_level(verbose ? xk::log::Level::debug : level_of(config.log_level));
    for (const auto &r : config.ranges) {
        if (r.method == xk::policy::Method::fko && !r.proof_ip) {
            XK_WARN(
                "range %s: proof_ip is off: whoever sees a knock on the path can resend it "
                "first from their own address",
                r.name.c_str());
        }
    }
    if (dry_run) {
        if (no_time_check) {
            for (auto &r : config.ranges) r.proof_time_s = 0;
        }
        try {
            return xk::daemon::replay_pcap(config, {pcap_path, quiet});
        } catch (const std::exception &e) {
            fprintf(stderr, "xdpknockd: %s\n", e.what());
            return 1;
        }
    }

    // Map memory is charged to the memcg on current kernels; a refused raise is fine.
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &unlimited);

    // Block the stop signals before any thread starts, then wait for them here.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    std::vector<std::unique_ptr<xk::daemon::GuardedInterface>> ifaces;
    std::unique_ptr<xk::policy::ReplayCache> replay;
    std::unique_ptr<xk::wake::WakeService> wake;
    try {
        // Before any gate attaches: a host's missing interface fails the start, not a wake.
        if (!config.hosts.empty()) wake = std::make_unique<xk::wake::WakeService>(config);
        // Private when we make it; an existing folder keeps the mode its owner chose.
        if (std::filesystem::create_directories(config.state_dir)) {
            std::filesystem::permissions(config.state_dir, std::filesystem::perms::owner_all);
        }
        replay = std::make_unique<xk::policy::ReplayCache>(
            config.state_dir + "/replay.journal",
            xk::policy::KnockPolicy::replay_retention(config));
        XK_INFO("replay cache: %zu digest(s) restored from %s/replay.journal", replay->size(),
                config.state_dir.c_str());
        for (const auto &iface : config.interfaces) {
            ifaces.push_back(
                std::make_unique<xk::daemon::GuardedInterface>(config, *replay, iface, pin_root));
            if (wake) wake->watch(ifaces.back()->wake_events_fd());
        }
        if (wake) wake->start();
    } catch (const std::exception &e) {
        XK_ERROR("%s", e.what());
        for (auto &i : ifaces)
            i->stop();  // a failed start must not open gates it found or made
        return 1;
    }
    std::error_code ec;
    if (std::filesystem::create_directories(run_dir, ec)) {
        std::filesystem::permissions(run_dir, std::filesystem::perms::owner_all, ec);
    }
    XK_INFO("xdpknockd running: %zu range(s), %zu protected service(s)", config.ranges.size(),
            config.services.size());

    timespec tick{1, 0};
    int sig = 0;
    for (uint64_t seconds = 1;; ++seconds) {
        sig = sigtimedwait(&stop_signals, nullptr, &tick);
        if (sig == SIGTERM || sig == SIGINT) break;
        for (auto &i : ifaces) i->sweep();
        if (seconds % 60 == 0) {
            try {
                replay->prune(time(nullptr));
            } catch (const std::exception &e) {  // a full disk must not take the gate down
                XK_ERROR("replay journal: %s (digests stay in memory)", e.what());
            }
        }
        if (!ec) write_stats(run_dir, ifaces, wake.get());
    }
    XK_INFO("xdpknockd: %s received, stopping", strsignal(sig));
    if (wake) wake->stop();
    for (auto &i : ifaces) i->stop();
    std::filesystem::remove(run_dir + "/stats.json", ec);
    return 0;
}
