#pragma once
// knockd's start/stop commands as `import-knockd` reads them. knockd replaces %IP% and hands
// the line to system(), a shell; xdpknock runs hooks as an argv without one. So a command
// is split into words as sh would split it (plain words, '…' and "…" without expansions),
// and anything only a shell can run is refused. The usual knockd firewall rule,
//   iptables -A|-I INPUT -s %IP% -p tcp --dport N -j ACCEPT   (and its -D twin)
// is recognised, so the importer can turn it into a grant the gate makes itself.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xk::cli::knockd {

// The words of a command, or nullopt with why a shell is needed in `problem`.
std::optional<std::vector<std::string>> shell_words(std::string_view command, std::string &problem);

// An iptables/ip6tables rule on INPUT accepting TCP from %IP% to some ports.
struct AcceptRule {
    bool add = false;             // -A / -I (knockd's open); false: -D (its close)
    std::vector<uint16_t> ports;  // sorted, unique; never empty
    bool operator==(const AcceptRule &) const = default;
};

// The rule when argv is exactly that shape (-m state/conntrack NEW, -m multiport --dports,
// --syn and -w allowed); nullopt for anything else — another chain, target, protocol,
// source, interface, address, a port range or name: those stay commands.
std::optional<AcceptRule> accept_rule(const std::vector<std::string> &argv);

// The family a firewall program's rules take: 6 for ip6tables*, 4 for iptables*, 0 else.
int iptables_family(std::string_view program);

}  // namespace xk::cli::knockd
