#pragma once
// Grants kept in memory: what a dry run (a capture replayed through the daemon's
// methods) would have authorized, with the same extend-only rule as the map store.

#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "auth/authorization_store.hpp"

namespace xk::auth {

class MemoryStore : public AuthorizationStore {
  public:
    // now_ns: the store's clock (a replay judges each knock at its capture time).
    explicit MemoryStore(std::function<uint64_t()> now_ns = monotonic_ns)
        : now_ns_(std::move(now_ns)) {}

    int grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
              uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) override;
    size_t revoke(const policy::Address &addr) override;
    std::vector<Entry> list() const override;
    std::vector<Entry> sweep(uint64_t now_ns) override;
    // Counted in place: the base's list() copy is a dry run's summary hot spot.
    size_t count(uint64_t now_ns) const override;

  private:
    using Key = std::pair<policy::Address, policy::PortRef>;
    struct Less {
        bool operator()(const Key &a, const Key &b) const;
    };
    std::function<uint64_t()> now_ns_;
    mutable std::mutex mu_;
    std::map<Key, xk_auth_value, Less> entries_;
};

}  // namespace xk::auth
