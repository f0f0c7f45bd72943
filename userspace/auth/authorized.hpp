#pragma once
// The BPF map store: the gate's `authorized` map, which the XDP program reads for every
// SYN — who may open which port until when — and how much of it each range holds, so a
// range that fills its quota refuses its own new sources and never locks out the others.

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "auth/auth_filter.hpp"
#include "auth/authorization_store.hpp"
#include "auth/source_counts.hpp"
#include "log/clock.hpp"
#include "policy/address.hpp"
#include "policy/config.hpp"
#include "xdpknock/maps.h"

static_assert(sizeof(xk_auth_key) == 20, "xk_auth_key layout is shared with BPF");
static_assert(sizeof(xk_auth_value) == 16, "xk_auth_value layout is shared with BPF");

namespace xk::auth {

using xk::monotonic_ns;

xk_auth_key make_key(const policy::Address &addr, const policy::PortRef &port);

// The quotas of a config's ranges, indexed like config.ranges (the entries' range_id).
std::vector<RangeQuota> quotas_for(const policy::Config &config);

// Most ports one grant may carry (policy::kMaxGrantPorts fits, checked where both meet).
inline constexpr size_t kMaxPortsPerGrant = 128;

class Authorized : public AuthorizationStore {
  public:
    // No accounting: hand edits (`xdpknock allow/revoke`), whose entries count to no range.
    explicit Authorized(int map_fd);
    // Accounting per range, rebuilt from the entries already in the map (their range_id),
    // so a restart counts what the last run granted.
    Authorized(int map_fd, std::vector<RangeQuota> quotas);
    Authorized(const Authorized &) = delete;
    Authorized &operator=(const Authorized &) = delete;

    // Authorizes addr for each port until now + timeout. A refresh only ever extends:
    // an entry that already lasts longer keeps its expiry. A source the range already
    // holds is always refreshed; a new one beyond the quota is refused whole.
    // Returns 0, kRangeFull, kMapFull or another -errno.
    int grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
              uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) override;
    size_t revoke(const policy::Address &addr) override;
    std::vector<Entry> list() const override;
    // Also brings the accounting back in step if another process (`xdpknock revoke`)
    // edited the map.
    std::vector<Entry> sweep(uint64_t now_ns) override;

    size_t ranges() const { return quotas_.size(); }
    RangeUsage usage(uint32_t range_id) const override;
    // Recounts the map's entries for the new ranges, with every stripe held (no grant
    // books meanwhile). Refusal counts start again at 0.
    void set_quotas(std::vector<RangeQuota> quotas) override;

    // The gate's pre-filter (auth/auth_filter.hpp). Every key this store writes gets its
    // bits first. The owner (one per gate: the daemon's store) also builds it now if
    // needed, learns keys written without it and rebuilds it from sweep(). Call it before
    // the store is shared (not while grants run).
    void use_filter(std::unique_ptr<AuthFilter> filter, bool owner);
    // Owner: drops the bits of keys gone from the map now, not at a later sweep; false
    // within the filter's grace of its last rebuild (or without a filter to own).
    bool rebuild_filter();

  private:
    struct Write {
        xk_auth_key key;
        uint32_t old_range;  // the range that held the entry before (existed only)
        bool existed;
    };
    struct Plan {
        std::array<Write, kMaxPortsPerGrant> writes;
        size_t n = 0;
        uint32_t gained = 0;  // entries the granting range takes over or creates
    };

    // Workers of one interface share this object: the read-compare-write of a grant runs
    // under the address's stripe, so a shorter grant never overwrites a longer one.
    std::mutex &stripe(const policy::Address &addr);
    int plan(const policy::Address &addr, std::span<const policy::PortRef> ports,
             const xk_auth_value &v, Plan &p) const;
    int reserve(const policy::Address &addr, uint32_t range_id, const Plan &p);
    void release(const policy::Address &addr, uint32_t range_id, const Write *from,
                 const Write *to);
    int write(const policy::Address &addr, const xk_auth_value &v, const Plan &p);
    void mark(const Plan &p);
    void rebuild(const std::vector<Entry> &entries);
    void reconcile(std::vector<Entry> &live, uint64_t mutations_before);
    std::vector<xk_auth_key> keys() const;
    void keep_filter(const std::vector<Entry> &live, size_t deleted);

    int fd_;
    std::array<std::mutex, 64> stripes_;
    // Accounting (empty quotas: none). Taken after a stripe, never before.
    std::vector<RangeQuota> quotas_;
    std::unique_ptr<SourceCounts> counts_;
    std::vector<std::atomic<uint64_t>> refused_range_full_, refused_map_full_;
    mutable std::mutex counts_mu_;
    // Bumped by every grant or revoke that writes: a sweep's listing is only the truth
    // for a recount if nothing wrote while it was read.
    std::atomic<uint64_t> mutations_{0};
    std::unique_ptr<AuthFilter> filter_;
    bool filter_owner_ = false;
    std::atomic<uint64_t> filter_stale_{0};  // keys deleted since the filter's last rebuild
};

}  // namespace xk::auth
