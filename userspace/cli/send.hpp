#pragma once
// `xdpknock send`: one knock datagram to a gateway.

#include <cstdint>
#include <span>
#include <string>

namespace xk::cli {

// Sends payload to host:port over UDP (IPv4 or IPv6, names resolved). Returns 0 or errno.
int send_knock(const std::string &host, uint16_t port, std::span<const uint8_t> payload,
               std::string &error);

}  // namespace xk::cli
