#pragma once
// The cluster's grant backend: wraps a gateway's local store (its BPF map). A grant or revoke
// is written locally first — the knocking client never waits on Redis — then queued for the
// other gateways; their grants reach the local store straight from the cluster's subscriber.

#include <memory>
#include <mutex>

#include "auth/authorization_store.hpp"
#include "cluster/cluster.hpp"

namespace xk::cluster {

class ClusterStore : public auth::AuthorizationStore, public Member {
  public:
    ClusterStore(std::unique_ptr<auth::AuthorizationStore> local, Cluster &cluster);
    ~ClusterStore() override;

    int grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
              uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) override;
    size_t revoke(const policy::Address &addr) override;
    std::vector<auth::Entry> list() const override { return local_->list(); }
    // The expired entries, and those another gateway's revoke removed since the last sweep
    // (so their ranges' on_expire hooks run, on the sweeping thread).
    std::vector<auth::Entry> sweep(uint64_t now_ns) override;
    size_t count(uint64_t now_ns) const override { return local_->count(now_ns); }
    auth::RangeUsage usage(uint32_t range_id) const override { return local_->usage(range_id); }
    void set_quotas(std::vector<auth::RangeQuota> quotas) override {
        local_->set_quotas(std::move(quotas));
    }

    // The cluster's subscriber: the others' grants count to no range of this gateway.
    void remote_grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                      uint32_t seconds) override;
    size_t remote_revoke(const policy::Address &addr) override;

  private:
    std::unique_ptr<auth::AuthorizationStore> local_;
    Cluster &cluster_;
    std::mutex revoked_mu_;
    std::vector<auth::Entry> revoked_;  // removed by remote revokes, for the next sweep
};

}  // namespace xk::cluster
