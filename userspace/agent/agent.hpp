#pragma once
// `xdpknock agent`: knocks on demand. A TC egress program on the client's outgoing
// interfaces holds a SYN to a configured remote service that was not knocked recently;
// the agent knocks, marks the remote's services fresh, and sends the held SYN again, so
// the connection completes without waiting for TCP's retransmission. Fails open: on exit
// (even kill -9: the program hangs on a link this process owns) nothing is held.

#include <string>
#include <vector>

namespace xk::agent {

struct AgentOptions {
    std::string config_path;
    std::vector<std::string> interfaces;  // empty: those with a default route
    std::string rc_file;                  // the remotes' "fwknoprc" stanzas; "": ~/.fwknoprc
};

// Runs until SIGINT/SIGTERM; SIGHUP reloads the config (and resolves gateways again).
// Returns the exit code; throws policy::ConfigError on a bad config at start.
int run_agent(const AgentOptions &options);

// The interfaces that carry a default route (IPv4 or IPv6), from /proc/net.
std::vector<std::string> default_route_interfaces();

}  // namespace xk::agent
