#pragma once
// The gate's sequence tables (maps.h: seq_ranges, seq_ports) from the config: the XDP
// program judges every sequence hit itself (bpf/xdpknock.bpf.c), userspace only says
// which sequences are current and consumes the completions (seq_events).

#include <cstdint>
#include <utility>
#include <vector>

#include "policy/config.hpp"
#include "xdpknock/maps.h"

namespace xk::gate {

class Gate;

// A sequence range's current sequence, which the daemon keeps: a plain range's steps, a
// one-time range's first unused line (empty once every line is used: the range takes no
// hits). generation goes up each time a one-time sequence is consumed, so progress made
// on the old one restarts and a late completion of it is told apart.
struct SeqCurrent {
    std::vector<policy::PortRef> steps;
    uint32_t generation = 0;
};

// seq_index -> config range id: the i-th range whose method workers do not judge.
std::vector<uint32_t> sequence_range_ids(const policy::Config &config);

struct SequenceTables {
    std::vector<xk_seq_range> ranges;  // seq_ranges[seq_index]
    std::vector<std::pair<xk_seq_port_key, xk_seq_port>> ports;
};

// Pure. current[seq_index] as the daemon keeps it (missing: no steps). seq_ports covers
// every step a range may ever expect (its sequence and every one-time line), so consuming
// a one-time sequence rewrites one seq_ranges entry only. Throws GateError past the
// limits of maps.h (the config check refuses those first).
SequenceTables sequence_tables(const policy::Config &config,
                               const std::vector<SeqCurrent> &current);

// The current sequence of a plain range, or a one-time range's first line (generation 0):
// what the daemon starts from before its own one-time bookkeeping.
SeqCurrent initial_sequence(const policy::Range &range);

// Rewrites seq_ports (stale keys deleted first: the pinned map outlives restarts) and
// every seq_ranges entry (ranges past the config's take no hits). Throws GateError.
void write_sequences(const Gate &gate, const policy::Config &config,
                     const std::vector<SeqCurrent> &current);

// Swaps one range's current sequence at run time (a one-time sequence consumed). Its
// seq_ports entries already cover every line. Throws GateError.
void write_sequence(const Gate &gate, uint32_t seq_index, uint32_t range_id,
                    const policy::Range &range, const SeqCurrent &current);

}  // namespace xk::gate
