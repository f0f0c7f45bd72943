#pragma once
// A real redis-server for the cluster's tests, on a unix socket in a fresh folder, nothing
// saved. Missing redis-server skips the test, except under CI=true, where it fails it.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "cluster/redis_link.hpp"

namespace xk::cluster::testing {

inline std::string find_redis_server() {
    for (const char *dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
        std::string p = std::string(dir) + "/redis-server";
        if (access(p.c_str(), X_OK) == 0) return p;
    }
    return "";
}

class RedisServer {
  public:
    explicit RedisServer(const std::string &extra = "") {
        char tmpl[] = "/tmp/xk-redis-XXXXXX";
        dir_ = mkdtemp(tmpl);
        socket_ = dir_ + "/redis.sock";
        extra_ = extra;
    }
    ~RedisServer() {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    // False (the test is then skipped or failed) when there is no redis-server.
    bool start() {
        const std::string bin = find_redis_server();
        if (bin.empty()) return false;
        pid_ = fork();
        if (pid_ == 0) {
            std::string cmd = "exec " + bin + " --port 0 --unixsocket " + socket_ +
                              " --unixsocketperm 700 --save '' --appendonly no --logfile " + dir_ +
                              "/redis.log " + extra_;
            execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
            _exit(127);
        }
        for (int i = 0; i < 500; ++i) {  // up to 5 s for the socket
            RedisLink probe(Endpoint{"", 0, socket_}, "", std::chrono::milliseconds(100));
            if (probe.connect().empty() || probe.error().find("NOAUTH") != std::string::npos)
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
        unlink(socket_.c_str());
    }
    void pause() { kill(pid_, SIGSTOP); }
    void resume() { kill(pid_, SIGCONT); }
    std::string endpoint() const { return "unix:" + socket_; }
    const std::string &socket() const { return socket_; }
    const std::string &dir() const { return dir_; }

  private:
    std::string dir_, socket_, extra_;
    pid_t pid_ = -1;
};

// Starts one, or skips (fails under CI=true) when redis-server is missing.
#define XK_START_REDIS(server)                                                           \
    do {                                                                                 \
        if (!(server).start()) {                                                         \
            const char *ci = getenv("CI");                                               \
            if (ci && std::string(ci) == "true") FAIL() << "redis-server did not start"; \
            GTEST_SKIP() << "redis-server not installed";                                \
        }                                                                                \
    } while (0)

// Waits up to 5 s for cond (a deadline for an event, not a speed check).
template <typename F>
bool eventually(F cond) {
    for (int i = 0; i < 500; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
}

}  // namespace xk::cluster::testing
