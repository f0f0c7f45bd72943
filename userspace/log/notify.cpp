#include "log/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "log/log.hpp"

namespace xk::log {
namespace {

bool send(std::string_view head, std::string_view status) {
    // sd_notify checks this too; testing first keeps a hand-started daemon free of any work.
    if (getenv("NOTIFY_SOCKET") == nullptr) return false;
    const int rc = sd_notify(0, notify_message(head, status).c_str());
    if (rc > 0) return true;
    static std::atomic<bool> warned{false};
    if (rc < 0 && !warned.exchange(true))
        XK_WARN("sd_notify to NOTIFY_SOCKET failed: %s", strerror(-rc));
    return false;
}

}  // namespace

std::string notify_message(std::string_view head, std::string_view status) {
    std::string msg(head);
    msg += msg.empty() ? "STATUS=" : "\nSTATUS=";
    for (char c : status) msg += c == '\n' ? ' ' : c;
    return msg;
}

bool notify_ready(std::string_view status) {
    return send("READY=1", status);
}

bool notify_reloading(std::string_view status) {
    // systemd ≥ 253 (Type=notify-reload) wants the reload's start time beside RELOADING=1;
    // older managers ignore the extra field.
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t usec = uint64_t(now.tv_sec) * 1000000 + uint64_t(now.tv_nsec) / 1000;
    return send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec), status);
}

bool notify_stopping(std::string_view status) {
    return send("STOPPING=1", status);
}

bool notify_status(std::string_view status) {
    return send("", status);
}

}  // namespace xk::log
