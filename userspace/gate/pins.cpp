#include "gate/pins.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "gate/gate.hpp"

namespace xk::gate {
namespace {

bool same_shape(const bpf_map *m, const bpf_map_info &pinned) {
    return pinned.type == bpf_map__type(m) && pinned.key_size == bpf_map__key_size(m) &&
           pinned.value_size == bpf_map__value_size(m) &&
           pinned.max_entries == bpf_map__max_entries(m) &&
           pinned.map_flags == bpf_map__map_flags(m);
}

bool pinned_info(const std::string &path, bpf_map_info &info) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return false;
    uint32_t len = sizeof(info);
    int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    return rc == 0;
}

// Entries of a hash map, or the common indexes of two arrays, when keys and values have
// the same layout (e.g. the authorized map resized by authorized_max). Returns copied.
size_t copy_entries(int from, const bpf_map_info &old, const bpf_map *to) {
    bpf_map_type t = bpf_map__type(to);
    bool hash = t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LRU_HASH;
    if ((!hash && t != BPF_MAP_TYPE_ARRAY) || old.type != t ||
        old.key_size != bpf_map__key_size(to) || old.value_size != bpf_map__value_size(to)) {
        return 0;
    }
    std::vector<uint8_t> key(old.key_size), next(old.key_size), value(old.value_size);
    int to_fd = bpf_map__fd(to);
    size_t copied = 0;
    const void *prev = nullptr;
    while (bpf_map_get_next_key(from, prev, next.data()) == 0) {
        if (bpf_map_lookup_elem(from, next.data(), value.data()) == 0 &&
            bpf_map_update_elem(to_fd, next.data(), value.data(), BPF_ANY) == 0) {
            ++copied;
        }
        key = next;
        prev = key.data();
    }
    return copied;
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
        if (pinned_info(path, info) && !same_shape(m, info)) {
            // Loaded fresh (no pin path: libbpf would refuse the mismatch), pinned by
            // finish_pins once the load succeeded.
            if (int err = bpf_map__set_pin_path(m, nullptr))
                throw GateError(path + ": " + std::strerror(-err));
            plan.replace.push_back(m);
        }
    }
    return plan;
}

std::vector<std::string> finish_pins(const PinPlan &plan) {
    std::vector<std::string> said;
    for (bpf_map *m : plan.replace) {
        std::string path = pin_path(plan.dir, m);
        int old_fd = bpf_obj_get(path.c_str());
        bpf_map_info old{};
        uint32_t len = sizeof(old);
        size_t copied = 0;
        if (old_fd >= 0 && bpf_obj_get_info_by_fd(old_fd, &old, &len) == 0)
            copied = copy_entries(old_fd, old, m);
        if (old_fd >= 0) close(old_fd);
        unlink(path.c_str());
        if (int err = bpf_map__pin(m, path.c_str()))
            throw GateError(path + ": cannot pin: " + std::strerror(-err));
        said.push_back(std::string(bpf_map__name(m)) +
                       ": the pinned map had another shape (older build or new size); "
                       "replaced, " +
                       std::to_string(copied) + " entr(ies) carried over");
    }
    return said;
}

void remove_pins(const std::string &dir) {
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dir, ec)) unlink(e.path().c_str());
    rmdir(dir.c_str());
}

}  // namespace xk::gate
