#pragma once
// An nftables gate's counters in the XDP gate's terms, so status, stats.json and metrics read
// the same on both gates: syn_drop counts every packet its chain dropped to a protected
// service (scans of any flags included), syn_pass the packets a grant let through (the first
// of each new flow: conntrack passes the rest), knock_redirect the knocks the AF_PACKET tap
// took (the chain drops them after the copy).

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
