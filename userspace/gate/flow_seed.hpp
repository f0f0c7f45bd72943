#pragma once
// Connections that were already established when the gate attaches — the admin's own SSH
// session, a forwarded RDP flow — must survive it: their keys go into the flows map
// before the program sees a packet. From the kernel's sockets (sock_diag) and, for flows
// forwarded to LAN hosts, from conntrack where its table is readable.

#include <optional>
#include <string_view>
#include <vector>

#include "policy/config.hpp"
#include "xdpknock/maps.h"

namespace xk::gate {

struct SeedCount {
    size_t sockets = 0;    // local TCP sockets on protected ports
    size_t conntrack = 0;  // conntrack entries to protected ports
    bool conntrack_read = false;
};

// One /proc/net/nf_conntrack line: the original direction of an established TCP entry,
// as the gate sees its inbound packets; nullopt for anything else. Pure.
std::optional<xk_flow_key> conntrack_flow(std::string_view line);

// Every established TCP connection of this network namespace whose local port is a
// protected service, as the gate keys its inbound packets. Throws on a netlink error.
std::vector<xk_flow_key> established_sockets(const policy::Config &config);

SeedCount seed_flows(int flows_fd, const policy::Config &config, uint32_t idle_s);

}  // namespace xk::gate
