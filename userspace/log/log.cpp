#include "log/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace xk::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::text};
const char *const kNames[] = {"debug", "info", "warn", "error"};
// syslog priorities as sd-daemon.h spells them: SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR.
const char *const kPriority[] = {"<7>", "<6>", "<4>", "<3>"};

std::string rfc3339_ms(const timespec &ts) {
    tm utc{};
    gmtime_r(&ts.tv_sec, &utc);
    char buf[64];  // room for any int year the compiler can imagine
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
             utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
             ts.tv_nsec / 1000000);
    return buf;
}

// Quotes and escapes; bytes that are not UTF-8 (a name read off the wire) become U+FFFD
// rather than making the whole line invalid JSON.
std::string json_string(std::string_view s) {
    return nlohmann::json(std::string(s))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// journald reads a stream line by line: every line needs its own priority.
std::string with_priority(const char *prio, std::string_view msg) {
    std::string out = prio;
    for (char c : msg) {
        out += c;
        if (c == '\n') out += prio;
    }
    return out;
}

bool parse_decimal(const char *&p, unsigned long long &out) {
    if (*p < '0' || *p > '9') return false;
    char *end = nullptr;
    errno = 0;
    out = strtoull(p, &end, 10);
    if (errno != 0) return false;
    p = end;
    return true;
}

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // nowhere left to say it
        s.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace

void set_level(Level level) {
    g_level.store(level, std::memory_order_relaxed);
}

bool enabled(Level level) {
    return level >= g_level.load(std::memory_order_relaxed);
}

void set_format(Format format) {
    g_format.store(format, std::memory_order_relaxed);
}

Format parse_format(std::string_view name) {
    if (name == "text") return Format::text;
    if (name == "json") return Format::json;
    throw std::invalid_argument("--log-format: must be text or json, not '" + std::string(name) +
                                "'");
}

bool journal_stream_matches(const char *journal_stream, int fd) {
    if (journal_stream == nullptr) return false;
    const char *p = journal_stream;
    unsigned long long dev = 0, ino = 0;
    if (!parse_decimal(p, dev) || *p++ != ':' || !parse_decimal(p, ino) || *p != '\0') return false;
    struct stat st {};
    if (fstat(fd, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

std::string format_line(Level level, Format format, bool journal, const timespec &now_utc,
                        std::string_view msg) {
    const auto i = static_cast<size_t>(level);
    std::string line;
    if (format == Format::json) {
        // A JSON line is one line whatever the message holds: the prefix goes once.
        line = journal ? kPriority[i] : "";
        line += "{\"ts\":\"" + rfc3339_ms(now_utc) + "\",\"level\":\"" + kNames[i] +
                "\",\"msg\":" + json_string(msg) + "}";
    } else if (journal) {
        line = with_priority(kPriority[i], std::string(kNames[i]) + " " + std::string(msg));
    } else {
        line = rfc3339_ms(now_utc) + " " + kNames[i] + " " + std::string(msg);
    }
    return line + "\n";
}

void write(Level level, const char *fmt, ...) {
    // Decided once: systemd hands JOURNAL_STREAM down, and it only counts when stderr is
    // still that stream (not redirected by a wrapper script).
    static const bool journal = journal_stream_matches(getenv("JOURNAL_STREAM"), STDERR_FILENO);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    // One write(2) per line keeps lines from different threads whole.
    write_all(STDERR_FILENO,
              format_line(level, g_format.load(std::memory_order_relaxed), journal, ts, msg));
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
