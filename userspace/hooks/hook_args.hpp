#pragma once
// A range's hook command line for one event: the configured argv with %IP%, %PORT%,
// %PORTS%, %PORTNUM%, %PROTONUM%, %RANGE%, %LABEL% and %USER% replaced inside arguments
// (never split, never a shell). %PORT% is the first port ("tcp/22"); %PORTNUM% and
// %PROTONUM% are its number and IP protocol number ("22", "6": fwknopd's $PORT and $PROTO),
// "*" for every port. Values that come from the packet (the fko user name) are attacker
// text: every character outside [A-Za-z0-9._@+=:,] becomes '_' and a leading '-' gets a '_'
// in front, so such a value is always one inert argument — never an option, never a path.

#include <string>
#include <string_view>
#include <vector>

namespace xk::hooks {

struct HookEvent {
    std::string ip;                  // the granted source, as the log writes it
    std::vector<std::string> ports;  // "tcp/22", or "*" for every protected port
    std::string range, label, user;  // user: fko only, else empty
};

// The placeholders a hook argument may hold; anything else between '%' is refused at load.
bool known_placeholder(std::string_view name);

// The configured argument with its placeholders replaced; argv[0] is never expanded.
std::vector<std::string> expand(const std::vector<std::string> &argv, const HookEvent &e);

// Attacker text made inert (see above).
std::string inert(std::string_view text);

}  // namespace xk::hooks
