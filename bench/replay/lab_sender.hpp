// The two ways xdpknock-replay puts frames on the lab veth, behind one interface so they
// can be measured against each other (bench/results/*-flood.md):
//  - packet: AF_PACKET + PACKET_QDISC_BYPASS + sendmmsg, 64 frames a syscall, no copy;
//    the kernel's flow hash picks the tx queue, so flows spread over the peer's rx queues.
//  - xdp: AF_XDP TX in copy mode (libxdp xsk) on one tx queue, which on a veth is the
//    peer's rx queue; each frame is copied into UMEM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "replay/frame_pool.hpp"

namespace xk::replay {

class LabSender {
  public:
    virtual ~LabSender() = default;
    // Queues frames pool[first .. first+n) (indexes wrap); returns how many the kernel took.
    virtual size_t send(const FramePool &pool, size_t first, size_t n) = 0;
    virtual void flush() {}
};

std::unique_ptr<LabSender> open_packet_sender(const std::string &ifname);
std::unique_ptr<LabSender> open_xdp_sender(const std::string &ifname, uint32_t queue);

// Refuses anything but a veth in a non-initial network namespace: frames only ever go
// out of the lab's link. Throws std::runtime_error.
void require_lab_veth(const std::string &ifname);
Mac interface_mac(const std::string &ifname);

}  // namespace xk::replay
