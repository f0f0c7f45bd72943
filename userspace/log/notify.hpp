#pragma once
// The service manager's readiness protocol (sd_notify(3)) for xdpknockd.service (Type=notify):
// READY once every gate is attached and its workers run, RELOADING … READY around a reload,
// STOPPING when a stop begins, and a one-line STATUS for `systemctl status`.
// Every call is a no-op when NOTIFY_SOCKET is unset (started by hand, by a test, or by a
// supervisor that is not systemd).

#include <string>
#include <string_view>

namespace xk::log {

// Each returns true when the message reached the service manager; false when there is none,
// or when the send failed (logged once as a warning: the gate never depends on it).
bool notify_ready(std::string_view status);      // READY=1, STATUS=
bool notify_reloading(std::string_view status);  // RELOADING=1, MONOTONIC_USEC=, STATUS=
bool notify_stopping(std::string_view status);   // STOPPING=1, STATUS=
bool notify_status(std::string_view status);     // STATUS= alone

// The datagram a call sends, e.g. "READY=1\nSTATUS=running: 2 range(s)" ("STATUS=…" alone
// for an empty head). A newline in `status` would start a new assignment: it becomes a space.
std::string notify_message(std::string_view head, std::string_view status);

}  // namespace xk::log
