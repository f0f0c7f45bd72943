#pragma once
// `xdpknock import-knockd`: a knockd.conf as an xdpknock config, so a knockd gateway moves
// over with its sequences and its users keep their `knock` client. Text in, JSON out; the
// looks outside are the loader's own: a hook's program must be an executable here, and a
// one_time_sequences file is read as the daemon will read it.
//
// Each [section] becomes a range of method "sequence" (sequence or one_time_sequences,
// seq_timeout, tcpflags as tcp_flags). Its commands:
//   - `iptables -A|-I INPUT -s %IP% -p tcp --dport N -j ACCEPT` (knockd_command.hpp) becomes
//     open ["tcp/N"] (and service tcp/N): the gate grants the knocker itself. A stop_command
//     that deletes that rule is the grant's expiry, after cmd_timeout (knockd's 10 s by
//     default); without one the rule stayed until removed, so the grant lasts 3600 s.
//   - a section whose command deletes such a rule another section adds (knockd's closeSSH)
//     becomes a revoke range ("revoke": true, opens nothing): completing its sequence ends
//     every grant the knocker holds on the gateway. Deleting a rule no section adds is
//     refused: no grant of ours holds it, so the close could not be carried.
//   - any other command becomes a hook (start_command: on_authorize, stop_command:
//     on_expire), split as sh would split it but run without a shell; one that needs a
//     shell (pipes, ;, redirections, $…, globs) is refused.
// The _6 commands must do what the plain ones do, or nothing (the range then takes one
// address family). Nothing is dropped that would open more than knockd did: target,
// unknown keys, a step that is also a gated port are refused.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xk::cli {

struct KnockdImport {
    nlohmann::json config;           // passes policy::parse_config
    std::vector<std::string> notes;  // what changes from knockd's behaviour (for stderr)
};

// Throws std::runtime_error("knockd.conf:LINE: [section] key problem") on what cannot be
// carried over; `interface` (may be empty) overrides [options] Interface (else eth0).
KnockdImport import_knockd(const std::string &knockd_conf, const std::string &interface);

}  // namespace xk::cli
