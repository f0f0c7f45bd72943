#include "cluster/cluster_store.hpp"

namespace xk::cluster {

ClusterStore::ClusterStore(std::unique_ptr<auth::AuthorizationStore> local, Cluster &cluster)
    : local_(std::move(local)), cluster_(cluster) {
    cluster_.attach(this);
}

ClusterStore::~ClusterStore() {
    cluster_.detach(this);
}

int ClusterStore::grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                        uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) {
    const int err = local_->grant(addr, ports, timeout_s, range_id, secret_id);
    if (err == 0) cluster_.published_grant(addr, ports, timeout_s);
    return err;
}

size_t ClusterStore::revoke(const policy::Address &addr) {
    const size_t n = local_->revoke(addr);
    cluster_.published_revoke(addr);
    return n;
}

std::vector<auth::Entry> ClusterStore::sweep(uint64_t now_ns) {
    std::vector<auth::Entry> gone = local_->sweep(now_ns);
    std::lock_guard lock(revoked_mu_);
    gone.insert(gone.end(), revoked_.begin(), revoked_.end());
    revoked_.clear();
    return gone;
}

void ClusterStore::remote_grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                                uint32_t seconds) {
    local_->grant(addr, ports, seconds, auth::kClusterRange, 0);
}

size_t ClusterStore::remote_revoke(const policy::Address &addr) {
    std::vector<auth::Entry> held;
    for (const auto &e : local_->list())
        if (e.addr == addr) held.push_back(e);
    const size_t n = local_->revoke(addr);
    std::lock_guard lock(revoked_mu_);
    revoked_.insert(revoked_.end(), held.begin(), held.end());
    return n;
}

}  // namespace xk::cluster
