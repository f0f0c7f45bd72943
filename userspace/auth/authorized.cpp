#include "auth/authorized.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace xk::auth {

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

xk_auth_key make_key(const policy::Address &addr, const policy::PortRef &port) {
    xk_auth_key k{};
    std::memcpy(k.addr, addr.bytes.data(), sizeof(k.addr));
    k.proto = port.proto;
    k.port = port.proto == 0 ? 0 : port.port;
    return k;
}

std::mutex &Authorized::stripe(const policy::Address &addr) {
    return stripes_[(addr.bytes[15] ^ addr.bytes[14] ^ addr.bytes[7]) % stripes_.size()];
}

int Authorized::grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                      uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) {
    std::lock_guard lock(stripe(addr));
    xk_auth_value v{};
    v.expires_ns = monotonic_ns() + uint64_t{timeout_s} * 1000000000ull;
    v.range_id = range_id;
    v.secret_id = secret_id;
    for (const auto &p : ports) {
        xk_auth_key k = make_key(addr, p);
        xk_auth_value old{};
        if (bpf_map_lookup_elem(fd_, &k, &old) == 0 && old.expires_ns >= v.expires_ns) continue;
        if (bpf_map_update_elem(fd_, &k, &v, BPF_ANY) != 0) return -errno;
    }
    return 0;
}

std::vector<Entry> Authorized::list() const {
    std::vector<Entry> out;
    xk_auth_key key{}, next{};
    const void *prev = nullptr;
    while (bpf_map_get_next_key(fd_, prev, &next) == 0) {
        Entry e;
        if (bpf_map_lookup_elem(fd_, &next, &e.value) == 0) {
            e.addr = policy::Address::from_bytes(next.addr);
            e.port = {next.proto, next.port};
            out.push_back(e);
        }
        key = next;
        prev = &key;
    }
    return out;
}

size_t Authorized::revoke(const policy::Address &addr) {
    size_t n = 0;
    for (const auto &e : list()) {
        if (e.addr != addr) continue;
        std::lock_guard lock(stripe(e.addr));
        xk_auth_key k = make_key(e.addr, e.port);
        if (bpf_map_delete_elem(fd_, &k) == 0) ++n;
    }
    return n;
}

std::vector<Entry> Authorized::sweep(uint64_t now_ns) {
    std::vector<Entry> expired;
    for (const auto &e : list()) {
        if (e.value.expires_ns > now_ns) continue;
        std::lock_guard lock(stripe(e.addr));  // a grant in between must not be deleted
        xk_auth_key k = make_key(e.addr, e.port);
        // Re-check: a worker may have refreshed it since list() read it.
        xk_auth_value cur{};
        if (bpf_map_lookup_elem(fd_, &k, &cur) == 0 && cur.expires_ns > now_ns) continue;
        if (bpf_map_delete_elem(fd_, &k) == 0) expired.push_back(e);
    }
    return expired;
}

}  // namespace xk::auth
