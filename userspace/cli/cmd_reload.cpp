// xdpknock reload: ask the running xdpknockd to read its config again (SIGHUP), and say
// what it answered. With -c, the file is checked here first and nothing is signalled if it
// is refused (the error names the key, exit 2).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "cli/commands.hpp"
#include "daemon/gateway.hpp"
#include "policy/config.hpp"

namespace xk::cli {
namespace {

struct ReloadFlags {
    std::string run_dir = "/run/xdpknock", config;
    unsigned wait_s = 10;
};

// The daemon's pid, from the file it wrote (root's, 0600): refused unless that pid runs
// xdpknockd now, so a stale file never signals another process.
pid_t daemon_pid(const std::string &run_dir) {
    const std::string path = run_dir + "/" + daemon::kPidFile;
    std::ifstream in(path);
    long pid = 0;
    if (!in)
        throw std::runtime_error(path + ": " + std::strerror(errno) + " (is xdpknockd running?)");
    if (!(in >> pid) || pid <= 1) throw std::runtime_error(path + ": not a pid");
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name != "xdpknockd") {
        throw std::runtime_error(path + ": pid " + std::to_string(pid) +
                                 " is not xdpknockd (a stale file?)");
    }
    return static_cast<pid_t>(pid);
}

// The daemon's last answer: "<pid> <serial> ok|refused <message>", or "" if none yet.
std::string reload_status(const std::string &run_dir) {
    std::ifstream in(run_dir + "/" + daemon::kReloadStatusFile);
    std::string line;
    std::getline(in, line);
    return line;
}

// Waits for an answer other than `before` from this pid; prints it.
int await_answer(const ReloadFlags &f, pid_t pid, const std::string &before) {
    const std::string mine = std::to_string(pid) + " ";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(f.wait_s);
    while (std::chrono::steady_clock::now() < deadline) {
        std::string line = reload_status(f.run_dir);
        if (line != before && line.rfind(mine, 0) == 0) {
            std::istringstream words(line);
            std::string p, serial, result, message;
            words >> p >> serial >> result;
            std::getline(words >> std::ws, message);
            if (result == "ok") {
                printf("xdpknockd (pid %d): %s\n", pid, message.c_str());
                return 0;
            }
            fprintf(stderr, "xdpknock: reload refused, the running config is unchanged: %s\n",
                    message.c_str());
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fprintf(stderr,
            "xdpknock: xdpknockd (pid %d) was signalled but has not answered in %u s; "
            "its log says whether the config was taken\n",
            pid, f.wait_s);
    return 1;
}

int run_reload(const ReloadFlags &f) {
    if (!f.config.empty()) policy::load_config(f.config);  // a ConfigError: exit 2, no signal
    const pid_t pid = daemon_pid(f.run_dir);
    const std::string before = reload_status(f.run_dir);
    if (kill(pid, SIGHUP) != 0) {
        throw std::runtime_error("cannot signal xdpknockd (pid " + std::to_string(pid) +
                                 "): " + std::strerror(errno));
    }
    if (f.wait_s == 0) return 0;
    return await_answer(f, pid, before);
}

}  // namespace

void add_reload(CLI::App &app, Globals &g) {
    static ReloadFlags f;
    auto *c = app.add_subcommand(
        "reload", "make the running xdpknockd read its config again (SIGHUP) and print its answer");
    c->add_option("--run-dir", f.run_dir, "xdpknockd's --run-dir (holds xdpknockd.pid)");
    c->add_option("-c,--config", f.config,
                  "check this file first (the daemon's own); if it is refused, signal nothing");
    c->add_option("--wait", f.wait_s, "seconds to wait for the daemon's answer (0: do not wait)");
    c->callback([&g] { g.rc = guarded([] { return run_reload(f); }); });
}

}  // namespace xk::cli
