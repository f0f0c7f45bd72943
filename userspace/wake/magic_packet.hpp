#pragma once
// The Wake-on-LAN magic packet and the Ethernet frame that carries it on a link. Pure
// functions, so tests check them byte for byte without sockets.

#include <array>
#include <cstdint>
#include <string>

namespace xk::wake {

using Mac = std::array<uint8_t, 6>;

inline constexpr size_t kMagicPacketSize = 6 + 16 * 6;  // 102
inline constexpr uint16_t kEtherTypeWake = 0x0842;
inline constexpr size_t kWakeFrameSize = 14 + kMagicPacketSize;

using MagicPacket = std::array<uint8_t, kMagicPacketSize>;
using WakeFrame = std::array<uint8_t, kWakeFrameSize>;

// 6 x 0xff, then the target's MAC 16 times.
MagicPacket magic_packet(const Mac &target);
// To ff:ff:ff:ff:ff:ff from `source`, EtherType 0x0842, the magic packet as payload.
WakeFrame wake_frame(const Mac &source, const Mac &target);
// True if `payload` is a magic packet for `target` (what a NIC's wake logic looks for).
bool is_magic_packet_for(const uint8_t *payload, size_t size, const Mac &target);

std::string format_mac(const Mac &mac);

}  // namespace xk::wake
