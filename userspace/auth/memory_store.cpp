#include "auth/memory_store.hpp"

#include <algorithm>
#include <tuple>

namespace xk::auth {

bool MemoryStore::Less::operator()(const Key &a, const Key &b) const {
    return std::tie(a.first.bytes, a.second.proto, a.second.port) <
           std::tie(b.first.bytes, b.second.proto, b.second.port);
}

int MemoryStore::grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                       uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) {
    xk_auth_value v{now_ns_() + uint64_t{timeout_s} * 1000000000ull, range_id, secret_id};
    std::lock_guard lock(mu_);
    for (const auto &p : ports) {
        policy::PortRef key = p.proto == 0 ? policy::PortRef{} : p;
        auto [it, fresh] = entries_.try_emplace({addr, key}, v);
        if (!fresh && it->second.expires_ns < v.expires_ns) it->second = v;  // extend only
    }
    return 0;
}

size_t MemoryStore::revoke(const policy::Address &addr) {
    std::lock_guard lock(mu_);
    return std::erase_if(entries_, [&](const auto &e) { return e.first.first == addr; });
}

std::vector<Entry> MemoryStore::list() const {
    std::lock_guard lock(mu_);
    std::vector<Entry> out;
    for (const auto &[k, v] : entries_) out.push_back({k.first, k.second, v});
    return out;
}

size_t MemoryStore::count(uint64_t now_ns) const {
    std::lock_guard lock(mu_);
    return std::count_if(entries_.begin(), entries_.end(),
                         [now_ns](const auto &e) { return e.second.expires_ns > now_ns; });
}

std::vector<Entry> MemoryStore::sweep(uint64_t now_ns) {
    std::lock_guard lock(mu_);
    std::vector<Entry> gone;
    std::erase_if(entries_, [&](const auto &e) {
        if (e.second.expires_ns > now_ns) return false;
        gone.push_back({e.first.first, e.first.second, e.second});
        return true;
    });
    return gone;
}

}  // namespace xk::auth
