#pragma once
// An nftables gate's counters in the XDP gate's terms, so status, stats.json and metrics read
// the same on both gates: syn_drop counts every packet its chain dropped to a protected
// service (scans of any flags included), syn_pass the packets a grant let through that
// conntrack had not seen established (a TCP flow's first, a UDP flow's until its reply),
// knock_redirect the packets to the knock ports (and echoes, with ICMP knocks) the chain
// dropped after the AF_PACKET tap copied what its filter takes.

#include <array>
#include <cstdint>

#include "nft/nft_gate.hpp"
#include "xdpknock/maps.h"

namespace xk::nft {

inline std::array<uint64_t, XK_CNT__MAX> gate_counters(const Counters &c) {
    std::array<uint64_t, XK_CNT__MAX> out{};
    out[XK_CNT_SYN_DROP] = c.dropped_packets;
    out[XK_CNT_SYN_PASS] = c.passed_packets;
    out[XK_CNT_KNOCK_REDIRECT] = c.knocks_dropped_packets;
    return out;
}

}  // namespace xk::nft
