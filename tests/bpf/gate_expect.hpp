// gtest checks shared by the gate tests: one verdict of the loaded gate, and the flow key
// it makes of a packet.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "gate_frames.hpp"
#include "loaded_gate.hpp"

namespace xk::test {

// Runs `frame` `repeat` times; expects `action`, and `repeat` more of `counter` only.
inline void expectVerdictOn(LoadedGate &g, std::span<const uint8_t> frame, uint32_t action,
                            uint32_t counter, uint32_t repeat = 1) {
    const Counters before = g.counters();
    const LoadedGate::Run r = g.run(frame, repeat);
    const Counters after = g.counters();
    ASSERT_EQ(r.err, 0) << "bpf_prog_test_run_opts: " << std::strerror(-r.err);
    EXPECT_EQ(r.retval, action) << "got " << actionName(r.retval) << ", want "
                                << actionName(action);
    for (uint32_t i = 0; i < XK_CNT__MAX; i++)
        EXPECT_EQ(after[i] - before[i], i == counter ? repeat : 0u) << "counter " << counterName(i);
}

// The key of an inbound packet's flow, as the gate makes it: saddr is the remote peer.
inline xk_flow_key flowKey(std::string_view src, std::string_view dst, uint16_t sport,
                           uint16_t dport) {
    xk_flow_key k{};
    const Ipv6Addr s = gateAddr(src), d = gateAddr(dst);
    std::memcpy(k.saddr, s.data(), 16);
    std::memcpy(k.daddr, d.data(), 16);
    k.sport = sport;
    k.dport = dport;
    return k;
}

}  // namespace xk::test
