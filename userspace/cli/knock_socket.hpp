#pragma once
// A knock leaves the client: one UDP datagram to the gateway, and the local address the
// kernel would send it from (fko's allow-IP). Shared by `xdpknock send` and the agent.

#include <cstdint>
#include <span>
#include <string>

namespace xk::cli {

// Sends payload to host:port over UDP (IPv4 or IPv6, names resolved). Returns 0 or errno.
int send_knock(const std::string &host, uint16_t port, std::span<const uint8_t> payload,
               std::string &error);

// The local address (IPv4 or IPv6) the kernel would send a knock to host from; "" without a
// route. An fko allow-IP: proof_ip then holds for IPv6 sources as for IPv4 ones.
std::string local_address_toward(const std::string &host, uint16_t port);

}  // namespace xk::cli
