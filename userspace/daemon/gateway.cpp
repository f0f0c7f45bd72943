#include "daemon/gateway.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <vector>

#include "daemon/guarded_interface.hpp"
#include "log/log.hpp"
#include "log/private_file.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "stats/collect.hpp"
#include "stats/stats_file.hpp"
#include "wake/wake_service.hpp"

namespace xk::daemon {
namespace {

struct Gateway {
    std::vector<std::unique_ptr<GuardedInterface>> ifaces;
    std::unique_ptr<policy::ReplayCache> replay;
    std::unique_ptr<wake::WakeService> wake;
};

// Everything that can fail comes before the first gate: the wake links, the state folder,
// the replay journal. A failure after a gate attached leaves that gate closed.
void start(const policy::Config &config, const GatewayOptions &options, Gateway &gw) {
    if (!config.hosts.empty()) gw.wake = std::make_unique<wake::WakeService>(config);
    // Private when we make it; an existing folder keeps the mode its owner chose.
    if (std::filesystem::create_directories(config.state_dir))
        std::filesystem::permissions(config.state_dir, std::filesystem::perms::owner_all);
    gw.replay = std::make_unique<policy::ReplayCache>(
        config.state_dir + "/replay.journal", policy::KnockPolicy::replay_retention(config));
    XK_INFO("replay cache: %zu digest(s) restored from %s/replay.journal", gw.replay->size(),
            config.state_dir.c_str());
    for (const auto &iface : config.interfaces) {
        gw.ifaces.push_back(
            std::make_unique<GuardedInterface>(config, *gw.replay, iface, options.pin_root));
        if (gw.wake) gw.wake->watch(gw.ifaces.back()->wake_events_fd());
    }
    if (gw.wake) gw.wake->start();
}

// One second of upkeep: expiries, the journal once a minute, stats.
void tick(uint64_t seconds, const std::string &run_dir, bool stats_ok, Gateway &gw) {
    for (auto &i : gw.ifaces) i->sweep();
    if (seconds % 60 == 0) {
        try {
            gw.replay->prune(time(nullptr));
        } catch (const std::exception &e) {  // a full disk must not take the gate down
            XK_ERROR("replay journal: %s (digests stay in memory)", e.what());
        }
    }
    if (stats_ok) stats::write_file(run_dir, stats::collect(gw.ifaces, gw.wake.get()));
}

}  // namespace

int run_gateway(const policy::Config &config, const GatewayOptions &options) {
    // Map memory is charged to the memcg on current kernels; a refused raise is fine.
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &unlimited);
    // Block the stop signals before any thread starts, then wait for them here.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    Gateway gw;
    try {
        start(config, options, gw);
    } catch (const std::exception &e) {
        XK_ERROR("%s", e.what());
        for (auto &i : gw.ifaces) i->stop();  // a failed start opens no gate it found or made
        return 1;
    }
    std::error_code ec;
    if (std::filesystem::create_directories(options.run_dir, ec))
        std::filesystem::permissions(options.run_dir, std::filesystem::perms::owner_all, ec);
    XK_INFO("xdpknockd running: %zu range(s), %zu protected service(s)", config.ranges.size(),
            config.services.size());

    timespec second{1, 0};
    int sig = 0;
    for (uint64_t s = 1; sig != SIGTERM && sig != SIGINT; ++s) {
        sig = sigtimedwait(&stop_signals, nullptr, &second);
        if (sig != SIGTERM && sig != SIGINT) tick(s, options.run_dir, !ec, gw);
    }
    XK_INFO("xdpknockd: %s received, stopping", strsignal(sig));
    if (gw.wake) gw.wake->stop();
    for (auto &i : gw.ifaces) i->stop();
    std::filesystem::remove(options.run_dir + "/stats.json", ec);
    return 0;
}

}  // namespace xk::daemon
