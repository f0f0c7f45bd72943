#include "hooks/hook_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "log/log.hpp"

namespace xk::hooks {
namespace {

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The child: its own process group (killed whole), /dev/null for 0-2, nothing else open.
int spawn(const std::vector<std::string> &argv, pid_t &pid) {
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    char *env[] = {path, nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    for (int fd = 0; fd < 3; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    // The daemon ignores SIGPIPE (a Redis or gpg gone away must not kill it); an ignored
    // signal would be inherited, and a hook's `cmd | head` would then loop on EPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &pipe);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

}  // namespace

HookRunner::HookRunner(size_t max_running, size_t max_queued)
    : max_running_(max_running), max_queued_(max_queued), thread_([this] { loop(); }) {}

HookRunner::~HookRunner() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

bool HookRunner::submit(std::vector<std::string> argv, uint32_t timeout_s, std::string what) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.size() >= max_queued_) {
            if (dropped_.fetch_add(1) % 1000 == 0)
                XK_WARN("hooks: queue full (%zu waiting): %s not run", queue_.size(), what.c_str());
            return false;
        }
        queue_.push_back({std::move(argv), timeout_s, std::move(what)});
    }
    cv_.notify_all();
    return true;
}

void HookRunner::drain() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [this] { return queue_.empty() && running_.empty(); });
}

void HookRunner::start(Job job) {
    pid_t pid = 0;
    if (int rc = spawn(job.argv, pid)) {
        XK_WARN("hooks: %s: cannot run %s: %s", job.what.c_str(), job.argv[0].c_str(),
                strerror(rc));
        return;
    }
    running_.push_back({pid, now_ns() + job.timeout_s * 1000000000ull, std::move(job.what)});
}

// Children that ended are logged; those past their deadline are killed (their group too).
void HookRunner::reap(uint64_t now) {
    for (auto it = running_.begin(); it != running_.end();) {
        int status = 0;
        pid_t r = waitpid(it->pid, &status, WNOHANG);
        if (r == 0 && now > it->deadline_ns) {
            kill(-it->pid, SIGKILL);
            XK_WARN("hooks: %s: killed after its timeout", it->what.c_str());
            waitpid(it->pid, &status, 0);
            r = it->pid;
            status = 0;
        } else if (r == it->pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                XK_DEBUG("hooks: %s: exit 0", it->what.c_str());
            else if (WIFEXITED(status))
                XK_WARN("hooks: %s: exit %d", it->what.c_str(), WEXITSTATUS(status));
            else
                XK_WARN("hooks: %s: killed by signal %d", it->what.c_str(), WTERMSIG(status));
        }
        it = r == 0 ? it + 1 : running_.erase(it);
    }
}

void HookRunner::loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_ || !running_.empty()) {
        while (!stop_ && !queue_.empty() && running_.size() < max_running_) {
            Job job = std::move(queue_.front());
            queue_.pop_front();
            start(std::move(job));
        }
        reap(now_ns());
        if (stop_) {
            for (const auto &r : running_) kill(-r.pid, SIGKILL);
        }
        if (queue_.empty() && running_.empty()) idle_cv_.notify_all();
        // Children end on their own time: look again soon while some run.
        if (running_.empty())
            cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        else
            cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    idle_cv_.notify_all();
}

}  // namespace xk::hooks
