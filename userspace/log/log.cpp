#include "log/log.hpp"

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace xk::log {
namespace {
std::atomic<Level> g_level{Level::info};
const char *const kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_level(Level level) {
    g_level.store(level, std::memory_order_relaxed);
}

bool enabled(Level level) {
    return level >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    // One fprintf per line keeps lines from different threads whole.
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", utc.tm_year + 1900,
            utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ts.tv_nsec / 1000000,
            kNames[static_cast<int>(level)], line);
}

bool RateLimit::allow() {
    uint64_t now = static_cast<uint64_t>(time(nullptr));
    uint64_t window = window_.load(std::memory_order_relaxed);
    if (now != window && window_.compare_exchange_strong(window, now)) {
        used_.store(0, std::memory_order_relaxed);
    }
    if (used_.fetch_add(1, std::memory_order_relaxed) < per_second_) return true;
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

}  // namespace xk::log
