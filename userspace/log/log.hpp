#pragma once
// Leveled logging to stderr (journald picks it up). Never pass a secret to it.

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace xk::log {

enum class Level { debug, info, warn, error };

// text: "<RFC 3339 time> <level> <message>"; json: one {"ts","level","msg"} object per line.
enum class Format { text, json };

void set_level(Level level);
bool enabled(Level level);
void set_format(Format format);
// "text" or "json" (the --log-format values); throws std::invalid_argument otherwise.
Format parse_format(std::string_view name);
void write(Level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// True when `journal_stream` (the JOURNAL_STREAM variable, "<dev>:<ino>" in decimal) names
// the file `fd` is open on: systemd then reads our stderr into the journal, which stamps
// its own time and takes the level from a "<N>" syslog prefix (sd-daemon.h).
bool journal_stream_matches(const char *journal_stream, int fd);

// One whole line, '\n' included. `journal` drops the text timestamp and prefixes the
// syslog priority; a multi-line message gets the prefix on every line.
std::string format_line(Level level, Format format, bool journal, const timespec &now_utc,
                        std::string_view msg);

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
