#include "gate/pins.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "gate/gate.hpp"
#include "xdpknock/maps.h"

namespace xk::gate {
namespace {

struct Shape {
    bpf_map_type type;
    uint32_t key, value, max_entries, flags;
};

Shape shape_of(const bpf_map *m) {
    return {bpf_map__type(m), bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m),
            bpf_map__map_flags(m)};
}

Shape shape_of(const bpf_map_info &i) {
    return {bpf_map_type(i.type), i.key_size, i.value_size, i.max_entries, i.map_flags};
}

bool same(const Shape &a, const Shape &b) {
    return a.type == b.type && a.key == b.key && a.value == b.value &&
           a.max_entries == b.max_entries && a.flags == b.flags;
}

bool percpu(bpf_map_type t) {
    return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
           t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

bool array(bpf_map_type t) {
    return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// Maps whose entries can move between each other: hash and LRU hash alike (an LRU only
// evicts sooner), per-CPU or not on both sides. 0: nothing to carry (sockets, a ring).
int family(bpf_map_type t) {
    switch (t) {
        case BPF_MAP_TYPE_HASH:
        case BPF_MAP_TYPE_LRU_HASH:
            return 1;
        case BPF_MAP_TYPE_PERCPU_HASH:
        case BPF_MAP_TYPE_LRU_PERCPU_HASH:
            return 2;
        case BPF_MAP_TYPE_ARRAY:
            return 3;
        case BPF_MAP_TYPE_PERCPU_ARRAY:
            return 4;
        default:
            return 0;
    }
}

std::string type_name(bpf_map_type t) {
    const char *n = libbpf_bpf_map_type_str(t);
    return n ? n : std::to_string(t);
}

std::string change(const Shape &old, const Shape &now) {
    std::string out;
    auto add = [&](bool differs, const std::string &what) {
        if (differs) out += (out.empty() ? "" : ", ") + what;
    };
    auto n = [](uint32_t v) { return std::to_string(v); };
    add(old.type != now.type, "type " + type_name(old.type) + " -> " + type_name(now.type));
    add(old.key != now.key, "key " + n(old.key) + " -> " + n(now.key) + " bytes");
    add(old.value != now.value, "value " + n(old.value) + " -> " + n(now.value) + " bytes");
    add(old.max_entries != now.max_entries,
        "max_entries " + n(old.max_entries) + " -> " + n(now.max_entries));
    add(old.flags != now.flags, "flags " + n(old.flags) + " -> " + n(now.flags));
    return out;
}

// Why no entry of the old map can be carried into the new one ("" when they can), and
// whether that loses anything: config and sockets come back at every start by themselves.
std::string why_not_carried(const std::string &name, const Shape &old, const Shape &now,
                            bool &lost) {
    lost = false;
    if (name == XK_MAP_PORTS || name == XK_MAP_WAKE_TARGETS || name == XK_MAP_SEQ_PORTS ||
        name == XK_MAP_SEQ_RANGES)
        return "the config rewrites it at every start";
    if (name == XK_MAP_SEQ_STATE) return "it holds sequences in progress only (seconds long)";
    if (old.type == BPF_MAP_TYPE_XSKMAP) return "it holds sockets, which register at every start";
    if (old.type == BPF_MAP_TYPE_RINGBUF) return "it holds events in flight only";
    lost = true;
    if (family(old.type) == 0 || family(old.type) != family(now.type))
        return "a " + type_name(old.type) + " map cannot become a " + type_name(now.type);
    if (old.key != now.key) return "the key layout changed, so no entry can be matched any more";
    if (old.value > now.value) return "the value shrank: which of its fields went cannot be told";
    return "";
}

struct Carried {
    size_t carried = 0, dropped = 0;
    std::string why;  // of the last drop
};

// Every entry of `from` into `to`, each value widened with zeros (a new field appended at
// the end starts at 0: maps.h adds fields that way). Array slots that are all zero stay
// out of the count: the new array starts zeroed. Per-CPU values are converted CPU by CPU.
Carried carry(int from, const Shape &old, const bpf_map *to) {
    const Shape now = shape_of(to);
    const size_t cpus = percpu(old.type) ? size_t(std::max(libbpf_num_possible_cpus(), 1)) : 1;
    auto stride = [&](uint32_t size) { return percpu(old.type) ? (size + 7) / 8 * 8 : size; };
    std::vector<uint8_t> key(old.key), next(old.key), in(stride(old.value) * cpus),
        out(stride(now.value) * cpus);
    const int to_fd = bpf_map__fd(to);
    Carried c;
    const void *prev = nullptr;
    while (bpf_map_get_next_key(from, prev, next.data()) == 0) {
        key = next;
        prev = key.data();
        if (bpf_map_lookup_elem(from, key.data(), in.data()) != 0) continue;  // gone meanwhile
        if (array(old.type) && std::all_of(in.begin(), in.end(), [](uint8_t b) { return !b; }))
            continue;
        std::fill(out.begin(), out.end(), 0);
        for (size_t cpu = 0; cpu < cpus; ++cpu)
            std::memcpy(&out[cpu * stride(now.value)], &in[cpu * stride(old.value)], old.value);
        if (bpf_map_update_elem(to_fd, key.data(), out.data(), BPF_ANY) == 0) {
            ++c.carried;
        } else {
            ++c.dropped;
            c.why = errno == E2BIG ? (array(now.type) ? "past the new size" : "the new map is full")
                                   : std::strerror(errno);
        }
    }
    return c;
}

PinChange migrate(int from, const bpf_map_info &old_info, const bpf_map *to) {
    const std::string name = bpf_map__name(to);
    const Shape old = shape_of(old_info), now = shape_of(to);
    PinChange out;
    out.line = name + ": the pinned map had another shape (" + change(old, now) + "); replaced";
    std::string why = why_not_carried(name, old, now, out.lost);
    if (!why.empty()) {
        out.line += ", its entries not carried over: " + why;
        return out;
    }
    Carried c = carry(from, old, to);
    out.line += ": " + std::to_string(c.carried) + " entr(ies) carried over";
    if (now.value > old.value)
        out.line += " (their " + std::to_string(now.value - old.value) + " new value bytes at 0)";
    out.lost = c.dropped > 0;
    if (c.dropped) out.line += ", " + std::to_string(c.dropped) + " dropped: " + c.why;
    return out;
}

bool pinned_info(const std::string &path, bpf_map_info &info) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return false;
    uint32_t len = sizeof(info);
    int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    return rc == 0;
}

std::string pin_path(const std::string &dir, const bpf_map *m) {
    return dir + "/" + bpf_map__name(m);
}

}  // namespace

PinPlan plan_pins(bpf_object *obj, const std::string &dir) {
    PinPlan plan{dir, {}};
    bpf_map *m;
    bpf_object__for_each_map(m, obj) {
        if (bpf_map__is_internal(m)) continue;  // .rodata: set per load, never shared
        std::string path = pin_path(dir, m);
        bpf_map_info info{};
        if (pinned_info(path, info) && !same(shape_of(m), shape_of(info))) {
            // Loaded fresh (no pin path: libbpf would refuse the mismatch), pinned by
            // finish_pins once the load succeeded.
            if (int err = bpf_map__set_pin_path(m, nullptr))
                throw GateError(path + ": " + std::strerror(-err));
            plan.replace.push_back(m);
        }
    }
    return plan;
}

std::vector<PinChange> finish_pins(const PinPlan &plan) {
    std::vector<PinChange> said;
    for (bpf_map *m : plan.replace) {
        std::string path = pin_path(plan.dir, m);
        int old_fd = bpf_obj_get(path.c_str());
        bpf_map_info old{};
        uint32_t len = sizeof(old);
        if (old_fd >= 0 && bpf_obj_get_info_by_fd(old_fd, &old, &len) == 0)
            said.push_back(migrate(old_fd, old, m));
        if (old_fd >= 0) close(old_fd);
        unlink(path.c_str());
        if (int err = bpf_map__pin(m, path.c_str()))
            throw GateError(path + ": cannot pin: " + std::strerror(-err));
    }
    return said;
}

void remove_pins(const std::string &dir) {
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dir, ec)) unlink(e.path().c_str());
    rmdir(dir.c_str());
}

}  // namespace xk::gate
