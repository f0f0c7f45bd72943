#pragma once
// A SYN the agent's TC program held back, on its way out again: where it goes, and its TCP
// checksum made whole. At egress the kernel may leave the checksum to the NIC (a partial
// sum over the pseudo-header only); a frame sent again through a packet socket gets no
// such help, so it must carry the full sum. Pure: bytes in, bytes out.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "policy/address.hpp"

namespace xk::agent {

struct HeldSyn {
    policy::Address daddr;  // IPv6 or IPv4-mapped
    uint16_t sport = 0, dport = 0;
};

// The SYN in an Ethernet frame; nullopt if the frame is not one.
std::optional<HeldSyn> parse_held_syn(std::span<const uint8_t> frame);

// Whether a local TCP socket still waits in SYN_SENT for this SYN's answer, from the
// kernel's socket tables (/proc/net/tcp, tcp6: `tables` in that format, for tests).
bool still_syn_sent(const HeldSyn &syn, std::span<const std::string> tables);
bool still_syn_sent(const HeldSyn &syn);

// Writes the full TCP checksum into the frame; false if it is not an Ethernet TCP frame
// whose headers it holds whole.
bool fix_tcp_checksum(std::span<uint8_t> frame);

}  // namespace xk::agent
