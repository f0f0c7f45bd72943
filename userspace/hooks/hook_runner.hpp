#pragma once
// Runs hook commands off the knock path: posix_spawn with an argv array (never a shell), a
// bounded number at once and a bounded queue, each killed (with its process group) after its
// timeout, its exit status logged. stdin/stdout/stderr are /dev/null, no file descriptor of
// the daemon is inherited, the environment is PATH alone. submit() never blocks: a full queue
// drops the command (counted, logged once per burst).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace xk::hooks {

class HookRunner {
  public:
    explicit HookRunner(size_t max_running = 4, size_t max_queued = 256);
    ~HookRunner();  // kills what still runs
    HookRunner(const HookRunner &) = delete;
    HookRunner &operator=(const HookRunner &) = delete;

    // Queues argv (argv[0] an absolute path); false when the queue is full.
    bool submit(std::vector<std::string> argv, uint32_t timeout_s, std::string what);
    uint64_t dropped() const { return dropped_.load(); }
    // Blocks until nothing is queued or running (tests, shutdown).
    void drain();

  private:
    struct Job {
        std::vector<std::string> argv;
        uint32_t timeout_s;
        std::string what;  // for the log: "on_authorize of range ssh"
    };
    struct Running {
        pid_t pid;
        uint64_t deadline_ns;
        std::string what;
    };

    void loop();
    void start(Job job);
    void reap(uint64_t now_ns);

    const size_t max_running_, max_queued_;
    std::mutex mu_;
    std::condition_variable cv_, idle_cv_;
    std::deque<Job> queue_;
    std::vector<Running> running_;
    bool stop_ = false;
    std::atomic<uint64_t> dropped_{0};
    std::thread thread_;
};

}  // namespace xk::hooks
