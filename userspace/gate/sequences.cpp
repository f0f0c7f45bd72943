#include "gate/sequences.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "gate/gate.hpp"
#include "methods/registry.hpp"

namespace xk::gate {

static_assert(sizeof(xk_seq_step) == 4, "xk_seq_step layout is shared with BPF");
static_assert(sizeof(xk_seq_range) == 88, "xk_seq_range layout is shared with BPF");
static_assert(sizeof(xk_seq_port_key) == 4, "xk_seq_port_key layout is shared with BPF");
static_assert(sizeof(xk_seq_port) == 12, "xk_seq_port layout is shared with BPF");
static_assert(sizeof(xk_seq_key) == 20, "xk_seq_key layout is shared with BPF");
static_assert(sizeof(xk_seq_state) == 16, "xk_seq_state layout is shared with BPF");
static_assert(sizeof(xk_seq_event) == 32, "xk_seq_event layout is shared with BPF");

namespace {

[[noreturn]] void map_error(const char *what) {
    throw GateError(std::string("cannot write the ") + what + " map: " + std::strerror(errno));
}

xk_seq_range range_entry(uint32_t range_id, const policy::Range &r, const SeqCurrent &current) {
    if (current.steps.size() > XK_SEQ_STEPS_MAX)
        throw GateError("range " + r.name + ": a sequence of more than " +
                        std::to_string(XK_SEQ_STEPS_MAX) + " steps");
    xk_seq_range e{};
    e.range_id = range_id;
    e.generation = current.generation;
    e.timeout_ns = uint64_t{r.sequence.timeout_s} * 1'000'000'000ull;
    e.nsteps = static_cast<uint8_t>(current.steps.size());
    e.tcp_mask = r.sequence.tcp_flags_mask;
    e.tcp_want = r.sequence.tcp_flags_want;
    for (size_t i = 0; i < current.steps.size(); ++i) {
        e.steps[i].port = current.steps[i].port;
        e.steps[i].proto = current.steps[i].proto;
    }
    return e;
}

// Every (proto, port) the range may ever expect: its sequence and all one-time lines.
std::vector<policy::PortRef> all_steps(const policy::PortSequence &seq) {
    std::vector<policy::PortRef> steps = seq.steps;
    for (const auto &line : seq.one_time) steps.insert(steps.end(), line.begin(), line.end());
    std::vector<policy::PortRef> unique;
    for (const auto &s : steps)
        if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(s);
    return unique;
}

void add_port(SequenceTables &t, const policy::PortRef &step, uint32_t seq_index) {
    auto it = std::find_if(t.ports.begin(), t.ports.end(), [&](const auto &e) {
        return e.first.port == step.port && e.first.proto == step.proto;
    });
    if (it == t.ports.end()) {
        xk_seq_port_key key{};
        key.port = step.port;
        key.proto = step.proto;
        it = t.ports.insert(t.ports.end(), {key, xk_seq_port{}});
    }
    xk_seq_port &e = it->second;
    if (e.nranges >= XK_SEQ_PORT_RANGES)
        throw GateError(policy::format_port(step) + " is a step of more than " +
                        std::to_string(XK_SEQ_PORT_RANGES) + " sequence ranges");
    e.seq_index[e.nranges++] = static_cast<uint8_t>(seq_index);
}

}  // namespace

std::vector<uint32_t> sequence_range_ids(const policy::Config &config) {
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < config.ranges.size(); ++i)
        if (!methods::method_of(config.ranges[i]).judged_by_workers())
            ids.push_back(static_cast<uint32_t>(i));
    return ids;
}

SeqCurrent initial_sequence(const policy::Range &range) {
    const policy::PortSequence &seq = range.sequence;
    if (!seq.one_time.empty()) return {seq.one_time.front(), 0};
    return {seq.steps, 0};
}

SequenceTables sequence_tables(const policy::Config &config,
                               const std::vector<SeqCurrent> &current) {
    const std::vector<uint32_t> ids = sequence_range_ids(config);
    if (ids.size() > XK_SEQ_RANGES_MAX)
        throw GateError("more than " + std::to_string(XK_SEQ_RANGES_MAX) + " sequence ranges");
    SequenceTables t;
    for (uint32_t i = 0; i < ids.size(); ++i) {
        const policy::Range &r = config.ranges[ids[i]];
        const SeqCurrent none;
        t.ranges.push_back(range_entry(ids[i], r, i < current.size() ? current[i] : none));
        for (const auto &step : all_steps(r.sequence)) add_port(t, step, i);
    }
    return t;
}

void write_sequences(const Gate &gate, const policy::Config &config,
                     const std::vector<SeqCurrent> &current) {
    const SequenceTables t = sequence_tables(config, current);
    const int ports_fd = gate.seq_ports_fd();
    xk_seq_port_key key{}, next{};
    while (bpf_map_get_next_key(ports_fd, nullptr, &next) == 0) {
        key = next;
        if (bpf_map_delete_elem(ports_fd, &key) != 0) break;
    }
    for (const auto &[k, v] : t.ports)
        if (bpf_map_update_elem(ports_fd, &k, &v, BPF_ANY) != 0) map_error("seq_ports");
    // Past the config's ranges: nsteps 0, so an old config's progress finds nothing.
    for (uint32_t i = 0; i < XK_SEQ_RANGES_MAX; ++i) {
        const xk_seq_range e = i < t.ranges.size() ? t.ranges[i] : xk_seq_range{};
        if (bpf_map_update_elem(gate.seq_ranges_fd(), &i, &e, BPF_ANY) != 0)
            map_error("seq_ranges");
    }
}

void write_sequence(const Gate &gate, uint32_t seq_index, uint32_t range_id,
                    const policy::Range &range, const SeqCurrent &current) {
    if (seq_index >= XK_SEQ_RANGES_MAX) throw GateError("sequence index out of range");
    const xk_seq_range e = range_entry(range_id, range, current);
    if (bpf_map_update_elem(gate.seq_ranges_fd(), &seq_index, &e, BPF_ANY) != 0)
        map_error("seq_ranges");
}

}  // namespace xk::gate
