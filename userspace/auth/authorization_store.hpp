#pragma once
// The grant backend seam: who may open which port until when, for one gate. The BPF map
// store (auth/authorized.hpp) is what the gate reads; a dry run keeps grants in memory
// (auth/memory_store.hpp); a cluster's wraps the gate's (cluster/cluster_store.hpp), an
// nftables gate's replaces it (nft/nft_store.hpp), without touching workers or policy.

#include <cerrno>
#include <cstdint>
#include <span>
#include <vector>

#include "log/clock.hpp"
#include "policy/address.hpp"
#include "policy/config.hpp"
#include "xdpknock/maps.h"

namespace xk::auth {

struct Entry {
    policy::Address addr;
    policy::PortRef port;
    xk_auth_value value{};  // expiry on CLOCK_MONOTONIC, range and secret that granted it
};

// One range's share of the store (policy::Range::max_sources and the entries they take).
struct RangeQuota {
    uint32_t max_sources = UINT32_MAX;
    uint32_t max_entries = UINT32_MAX;
};

// What a range holds now and what it had to turn away.
struct RangeUsage {
    uint32_t sources = 0, entries = 0;
    RangeQuota quota;
    uint64_t refused_range_full = 0;  // new sources refused: the range's quota was reached
    uint64_t refused_map_full = 0;    // grants refused: the store itself had no room
};

// range_id of entries no local range made: by hand (`xdpknock allow`), or by another gateway
// of the cluster. Neither counts to a range's quota.
inline constexpr uint32_t kHandRange = UINT32_MAX;
inline constexpr uint32_t kClusterRange = UINT32_MAX - 1;

class AuthorizationStore {
  public:
    // grant() results besides 0 and other -errno values.
    static constexpr int kRangeFull = -EDQUOT;  // the range's quota is reached: nothing written
    static constexpr int kMapFull = -ENOSPC;    // no room in the store: nothing new kept

    virtual ~AuthorizationStore() = default;

    // Authorizes addr for each port until now + timeout_s. Extend-only: an entry that
    // already lasts longer keeps its expiry. Returns 0, kRangeFull, kMapFull or -errno.
    virtual int grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                      uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) = 0;
    // Removes every entry of addr; returns how many.
    virtual size_t revoke(const policy::Address &addr) = 0;
    virtual std::vector<Entry> list() const = 0;
    // Deletes entries that expired before now_ns; returns them for the log.
    virtual std::vector<Entry> sweep(uint64_t now_ns) = 0;
    // Entries still live at now_ns.
    virtual size_t count(uint64_t now_ns) const;
    virtual RangeUsage usage(uint32_t range_id) const;
    // A reload's range quotas, indexed like the new config's ranges. Entries already held
    // stay; they count to the range now at their range_id. Stores without quotas ignore it.
    virtual void set_quotas(std::vector<RangeQuota> /*quotas*/) {}
};

}  // namespace xk::auth
