#include "cluster/cluster_store.hpp"

namespace xk::cluster {

ClusterStore::ClusterStore(std::unique_ptr<auth::AuthorizationStore> local, Cluster &cluster)
    : local_(std::move(local)), cluster_(cluster) {
    cluster_.attach(local_.get());
}

ClusterStore::~ClusterStore() {
    cluster_.detach(local_.get());
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

}  // namespace xk::cluster
