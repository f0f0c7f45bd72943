#pragma once
// Leveled logging to stderr (journald picks it up). Never pass a secret to it.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace xk::log {

enum class Level { debug, info, warn, error };

void set_level(Level level);
bool enabled(Level level);
void write(Level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define XK_LOG(level, ...)                                                   \
    do {                                                                     \
        if (::xk::log::enabled(level)) ::xk::log::write(level, __VA_ARGS__); \
    } while (0)
#define XK_DEBUG(...) XK_LOG(::xk::log::Level::debug, __VA_ARGS__)
#define XK_INFO(...) XK_LOG(::xk::log::Level::info, __VA_ARGS__)
#define XK_WARN(...) XK_LOG(::xk::log::Level::warn, __VA_ARGS__)
#define XK_ERROR(...) XK_LOG(::xk::log::Level::error, __VA_ARGS__)

// Lets at most `per_second` messages through per second, shared by all threads, so a
// flood of invalid knocks cannot turn into a flood of log lines. Lock-free.
class RateLimit {
  public:
    explicit RateLimit(uint32_t per_second) : per_second_(per_second) {}
    bool allow();
    uint64_t suppressed() const { return suppressed_.load(std::memory_order_relaxed); }

  private:
    uint32_t per_second_;
    std::atomic<uint64_t> window_{0};
    std::atomic<uint32_t> used_{0};
    std::atomic<uint64_t> suppressed_{0};
};

}  // namespace xk::log
