#include "daemon/gateway.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "cluster/cluster_replay.hpp"
#include "daemon/config_change.hpp"
#include "daemon/guarded_interface.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/http_service.hpp"
#include "daemon/ring_poller.hpp"
#include "daemon/sequence_service.hpp"
#include "log/log.hpp"
#include "log/notify.hpp"
#include "log/private_file.hpp"
#include "log/refusal_summary.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "stats/collect.hpp"
#include "stats/prometheus_printer.hpp"
#include "stats/stats_file.hpp"
#include "wake/wake_service.hpp"

namespace xk::daemon {
namespace {

using ConfigPtr = std::shared_ptr<const policy::Config>;

// Declared so that what uses a member is destroyed before it.
struct Gateway {
    ConfigPtr config;                // the running one; a reload replaces it whole
    int64_t replay_retention_s = 0;  // what the replay cache was built with
    std::unique_ptr<policy::ReplayCache> replay;
    std::unique_ptr<cluster::Cluster> cluster;               // "cluster": Redis shared
    std::unique_ptr<cluster::ClusterReplay> cluster_replay;  // the replay backend then
    hooks::HookRunner hooks;  // ranges' commands; outlives the workers that queue them
    std::vector<std::unique_ptr<GuardedInterface>> ifaces;
    std::unique_ptr<SequenceService> sequences;  // completed port-knock sequences -> grants
    std::unique_ptr<HttpService> http;           // fwknop -P http copies -> knocks
    std::unique_ptr<RingPoller> events;          // the gates' rings for those two; stopped first
    ConfigPtr wake_config;  // what the wake service reads (kept while a reload leaves it)
    std::unique_ptr<wake::WakeService> wake;
    uint64_t reloads = 0;
    bool prune_failing = false;  // the journal's rewrite failed: said once per outage
    // The last tick's snapshot, for the metrics endpoint's request threads.
    std::mutex latest_mu;
    std::shared_ptr<const stats::Snapshot> latest;
    std::unique_ptr<MetricsServer> metrics;  // last: stopped before what it reads goes
};

// A scrape renders the last snapshot: a request never reads the gates or the workers.
std::string render_metrics(Gateway &gw, const stats::BuildInfo &build) {
    std::shared_ptr<const stats::Snapshot> s;
    {
        std::lock_guard lock(gw.latest_mu);
        s = gw.latest;
    }
    return stats::to_prometheus(s ? *s : stats::Snapshot{}, build);
}

// The replay backend the knock judges use: the local cache, or with a cluster the cluster's
// (the local cache in front of Redis). Reading the password file may throw: before any gate.
policy::ReplayStore &start_cluster(Gateway &gw) {
    const policy::Config &config = *gw.config;
    if (!config.cluster.enabled()) return *gw.replay;
    const size_t per_iface = config.workers ? config.workers : std::thread::hardware_concurrency();
    // The judges that may ask Redis at once: every worker, the http and sequence services.
    gw.cluster = std::make_unique<cluster::Cluster>(
        config.cluster, std::max<size_t>(per_iface, 1) * config.interfaces.size() + 2);
    gw.cluster_replay =
        std::make_unique<cluster::ClusterReplay>(*gw.replay, *gw.cluster, gw.replay_retention_s);
    return *gw.cluster_replay;
}

// Everything that can fail comes before the first gate: the wake links, the state folder,
// the replay journal. A failure after a gate attached leaves that gate closed.
void start(const GatewayOptions &options, Gateway &gw) {
    const policy::Config &config = *gw.config;
    gw.wake_config = gw.config;
    if (!config.hosts.empty()) gw.wake = std::make_unique<wake::WakeService>(config);
    // Private when we make it; an existing folder keeps the mode its owner chose.
    if (std::filesystem::create_directories(config.state_dir))
        std::filesystem::permissions(config.state_dir, std::filesystem::perms::owner_all);
    gw.replay_retention_s = policy::KnockPolicy::replay_retention(config);
    gw.replay = std::make_unique<policy::ReplayCache>(
        config.state_dir + "/replay.journal", gw.replay_retention_s, config.replay_capacity);
    gw.replay->guard_clock_steps();  // judged by the wall clock as it runs, steps and all
    XK_INFO("replay cache: %zu digest(s) restored from %s/replay.journal", gw.replay->size(),
            config.state_dir.c_str());
    if (config.metrics.enabled()) {  // a port in use fails here, before any gate
        gw.metrics = std::make_unique<MetricsServer>(
            config.metrics, [&gw, build = stats::BuildInfo{options.version, options.commit}] {
                return render_metrics(gw, build);
            });
        gw.metrics->start();
    }
    policy::ReplayStore &replay = start_cluster(gw);
    gw.sequences = std::make_unique<SequenceService>(config.state_dir);
    gw.http = std::make_unique<HttpService>(replay);
    gw.events = std::make_unique<RingPoller>();
    for (const auto &iface : config.interfaces) {
        gw.ifaces.push_back(std::make_unique<GuardedInterface>(
            gw.config, replay, iface, options.pin_root, &gw.hooks, gw.sequences->currents(config),
            gw.cluster.get()));
        if (gw.wake && gw.ifaces.back()->wake_events_fd() >= 0)
            gw.wake->watch(gw.ifaces.back()->wake_events_fd());
        gw.sequences->watch(*gw.ifaces.back(), *gw.events);
        gw.http->watch(*gw.ifaces.back(), *gw.events);
    }
    if (gw.wake) gw.wake->start();
    gw.events->start();
    // After the gates: the live grants it loads go into their stores.
    if (gw.cluster) gw.cluster->start();
}

// The snapshot for stats.json and the metrics endpoint.
void publish(const std::string &run_dir, bool stats_ok, Gateway &gw) {
    if (!stats_ok && !gw.metrics) return;
    stats::Snapshot snap = stats::collect(gw.ifaces, gw.wake.get(), gw.replay.get(), gw.http.get());
    if (gw.cluster) snap.cluster = gw.cluster->state();
    auto s = std::make_shared<const stats::Snapshot>(std::move(snap));
    if (stats_ok) stats::write_file(run_dir, *s);
    std::lock_guard lock(gw.latest_mu);
    gw.latest = std::move(s);
}

// One second of upkeep: expiries, the journal once a minute, stats. Returns "" or why a
// gate no longer runs on its interface (deleted, recreated, taken off): fail closed by
// never going on as if it gated.
std::string tick(uint64_t seconds, const std::string &run_dir, bool stats_ok, Gateway &gw) {
    for (auto &i : gw.ifaces) {
        if (std::string why = i->lost(); !why.empty()) return why;
    }
    for (auto &i : gw.ifaces) i->sweep();
    if (seconds % 60 == 0) {
        try {
            gw.replay->prune(time(nullptr));
            if (gw.prune_failing) XK_INFO("replay journal: rewritten again");
            gw.prune_failing = false;
        } catch (const std::exception &e) {  // a full disk must not take the gate down
            if (!gw.prune_failing)
                XK_ERROR("replay journal: %s (digests stay in memory; said once)", e.what());
            gw.prune_failing = true;
        }
    }
    log::refusals().flush();  // one line per 10 s at most, only when knocks were refused
    publish(run_dir, stats_ok, gw);
    return "";
}

// ---- Reload (SIGHUP): parse and check, build, write the gates' maps, then swap. Until the
// swap nothing the running config uses has changed; a refusal at any step leaves it whole.

struct Staged {
    std::vector<GuardedInterface::Staged> ifaces;
    bool new_wake = false;  // the wake service is replaced (by `wake`, or by none)
    std::unique_ptr<wake::WakeService> wake;
};

ConfigPtr read_next(const Gateway &gw, const std::string &path) {
    if (path.empty()) throw std::runtime_error("no config file to read again");
    policy::Config next = policy::load_config(path);  // a ConfigError names the key
    if (std::string key = restart_key(*gw.config, next, gw.replay_retention_s); !key.empty()) {
        throw std::runtime_error(key + ": changed, which needs a restart");
    }
    return std::make_shared<const policy::Config>(std::move(next));
}

Staged stage(const Gateway &gw, const ConfigPtr &next) {
    Staged s;
    for (const auto &i : gw.ifaces) s.ifaces.push_back(i->prepare(next));
    s.new_wake = !same_wake_inputs(*gw.wake_config, *next);
    if (s.new_wake && !next->hosts.empty()) {
        s.wake = std::make_unique<wake::WakeService>(*next);  // opens the links: may throw
        for (const auto &i : gw.ifaces)
            if (i->wake_events_fd() >= 0) s.wake->watch(i->wake_events_fd());
    }
    return s;
}

// Ports and wake targets of every gate; on a failure the running config's are written
// back, so the gates and the workers never disagree.
// Under the sequence service's hold(), so its ledger stands still.
void write_maps(Gateway &gw, const policy::Config &next) {
    size_t done = 0;
    try {
        const auto sequences = gw.sequences->currents(next);
        for (; done < gw.ifaces.size(); ++done) gw.ifaces[done]->write_maps(next, sequences);
    } catch (const std::exception &) {
        const auto sequences = gw.sequences->currents(*gw.config);
        for (size_t i = 0; i <= done && i < gw.ifaces.size(); ++i) {
            try {
                gw.ifaces[i]->write_maps(*gw.config, sequences);
            } catch (const std::exception &e) {
                XK_ERROR("%s: cannot restore the running config's ports: %s",
                         gw.ifaces[i]->name().c_str(), e.what());
            }
        }
        throw;
    }
}

void apply(Gateway &gw, ConfigPtr next, Staged staged, bool verbose) {
    for (size_t i = 0; i < gw.ifaces.size(); ++i) gw.ifaces[i]->apply(std::move(staged.ifaces[i]));
    if (staged.new_wake) {
        if (gw.wake) gw.wake->stop();
        gw.wake = std::move(staged.wake);
        gw.wake_config = next;
        if (gw.wake) gw.wake->start();
    }
    gw.config = std::move(next);
    log::set_level(log_level_of(*gw.config, verbose));
    for (const auto &w : policy::config_warnings(*gw.config)) XK_WARN("%s", w.c_str());
}

// Grants stay until they expire, whatever the reload removed. Removing a service ungates
// its port (its SYNs pass like any unprotected port's), so revoking its grants would close
// nothing; a removed range's grants were made by a knock valid when it came.
void log_kept_grants(const Gateway &gw, const policy::Config &before) {
    const policy::Config &now = *gw.config;
    for (const auto &s : unprotected_services(before, now)) {
        XK_INFO(
            "reload: service %s (%s) removed: its port is no longer gated; authorizations for "
            "it are kept (revoking them would close nothing) and expire on time",
            s.name.c_str(), policy::format_port(s.port).c_str());
    }
    for (uint32_t r = 0; r < before.ranges.size(); ++r) {
        const std::string &name = before.ranges[r].name;
        bool kept = std::any_of(now.ranges.begin(), now.ranges.end(),
                                [&](const policy::Range &n) { return n.name == name; });
        if (kept) continue;
        size_t held = 0;
        for (const auto &i : gw.ifaces) {
            for (const auto &e : i->store().list()) held += e.value.range_id == r;
        }
        XK_INFO(
            "reload: range %s removed: its %zu authorization entr%s stay until they expire "
            "(`xdpknock revoke ADDR` ends one sooner)",
            name.c_str(), held, held == 1 ? "y" : "ies");
    }
}

struct Outcome {
    bool ok = false;
    std::string message;
};

Outcome reload(Gateway &gw, const GatewayOptions &options) {
    try {
        ConfigPtr next = read_next(gw, options.config_path);
        Staged staged = stage(gw, next);
        auto held = gw.events->hold();  // no event judged half-way through the swap
        write_maps(gw, *next);
        ConfigPtr before = gw.config;
        apply(gw, next, std::move(staged), options.verbose);
        held.unlock();
        log_kept_grants(gw, *before);
        return {true, "config reloaded from " + options.config_path + ": " +
                          std::to_string(next->ranges.size()) + " range(s), " +
                          std::to_string(next->services.size()) +
                          " protected service(s); authorizations already granted stay until "
                          "they expire"};
    } catch (const std::exception &e) {
        return {false, e.what()};
    }
}

// The log line, and reload.status for `xdpknock reload` to read back.
void report(Gateway &gw, const Outcome &o, const std::string &run_dir) {
    ++gw.reloads;
    if (o.ok) {
        XK_INFO("%s", o.message.c_str());
    } else {
        XK_ERROR("reload refused, the running config is unchanged: %s", o.message.c_str());
    }
    std::string line = std::to_string(getpid()) + " " + std::to_string(gw.reloads) +
                       (o.ok ? " ok " : " refused ") + o.message + "\n";
    std::string err = write_private_file(run_dir + "/" + kReloadStatusFile, line);
    if (!err.empty()) XK_WARN("reload status: %s", err.c_str());
}

// Until a stop signal (returned), or a gate lost (0, why in `lost`): a tick each second, a
// reload on each SIGHUP.
int serve(Gateway &gw, const GatewayOptions &options, const sigset_t &signals, bool run_dir_ok,
          std::string &lost) {
    timespec second{1, 0};
    for (uint64_t s = 1;;) {
        int sig = sigtimedwait(&signals, nullptr, &second);
        if (sig == SIGTERM || sig == SIGINT) return sig;
        if (sig == SIGHUP) {
            XK_INFO("SIGHUP: reading %s again", options.config_path.c_str());
            log::notify_reloading("reloading " + options.config_path);
            const Outcome o = reload(gw, options);
            report(gw, o, options.run_dir);
            log::notify_ready(o.ok ? "config reloaded"
                                   : "reload refused, the running config is unchanged");
            continue;
        }
        lost = tick(s++, options.run_dir, run_dir_ok, gw);
        if (!lost.empty()) return 0;
    }
}

// The run folder (private when we make it) and the pid `xdpknock reload` signals.
bool prepare_run_dir(const std::string &run_dir) {
    std::error_code ec;
    if (std::filesystem::create_directories(run_dir, ec))
        std::filesystem::permissions(run_dir, std::filesystem::perms::owner_all, ec);
    std::string err =
        ec ? run_dir + ": " + ec.message()
           : write_private_file(run_dir + "/" + kPidFile, std::to_string(getpid()) + "\n");
    if (!err.empty()) XK_WARN("%s (no stats.json; reload with kill -HUP only)", err.c_str());
    return !ec;
}

}  // namespace

int run_gateway(const policy::Config &config, const GatewayOptions &options) {
    // Map memory is charged to the memcg on current kernels; a refused raise is fine.
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_MEMLOCK, &unlimited);
    // Block the signals before any thread starts, then wait for them here.
    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Gateway gw;
    gw.config = std::make_shared<const policy::Config>(config);
    try {
        start(options, gw);
    } catch (const std::exception &e) {
        XK_ERROR("%s", e.what());
        log::notify_status(std::string("start failed: ") + e.what());
        if (gw.events) gw.events->stop();
        for (auto &i : gw.ifaces) i->stop();  // a failed start opens no gate it found or made
        return 1;
    }
    const bool run_dir_ok = prepare_run_dir(options.run_dir);
    publish(options.run_dir, run_dir_ok, gw);  // a scrape in the first second has counters
    XK_INFO("xdpknockd running: %zu range(s), %zu protected service(s)", config.ranges.size(),
            config.services.size());
    log::notify_ready(std::to_string(gw.ifaces.size()) + " gate(s) attached, " +
                      std::to_string(config.ranges.size()) + " range(s)");

    std::string lost;
    int sig = serve(gw, options, signals, run_dir_ok, lost);
    if (sig) {
        XK_INFO("xdpknockd: %s received, stopping", strsignal(sig));
        log::notify_stopping("stopping: the gates stay attached and closed");
    } else {
        // Exit 1: the service manager restarts us (Restart=on-failure) and the new start
        // gates the interface again, adopting the grants its pins kept.
        XK_ERROR("%s; exiting with status 1: start xdpknockd again to gate it", lost.c_str());
        log::notify_status("exiting: " + lost);
    }
    if (gw.metrics) gw.metrics->stop();
    if (gw.wake) gw.wake->stop();
    gw.events->stop();
    for (auto &i : gw.ifaces) i->stop();
    if (gw.cluster) gw.cluster->stop();  // after the workers: their last grants are sent
    std::error_code ec;
    for (const char *file : {"stats.json", kPidFile, kReloadStatusFile})
        std::filesystem::remove(options.run_dir + "/" + file, ec);
    return sig ? 0 : 1;
}

}  // namespace xk::daemon
