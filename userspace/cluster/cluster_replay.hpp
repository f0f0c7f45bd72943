#pragma once
// The replay backend of a cluster: the gateway's own cache in front (a local hit never asks
// Redis), Redis behind it deciding first sight across the gateways. Without Redis (an
// outage, or no answer within timeout_ms) the local cache alone decides and the digest is
// queued for Redis: a knock replayed to another gateway during an outage can pass there
// once — the weaker guarantee README's Cluster section states.

#include "cluster/cluster.hpp"
#include "policy/replay_cache.hpp"

namespace xk::cluster {

class ClusterReplay : public policy::ReplayStore {
  public:
    // retention_s: what the local cache keeps each digest for (Redis keeps it as long).
    ClusterReplay(policy::ReplayCache &local, Cluster &cluster, int64_t retention_s)
        : local_(local), cluster_(cluster), retention_s_(retention_s) {}

    bool contains(const spa::ReplayDigest &d, int64_t now_unix) const override {
        return local_.contains(d, now_unix);
    }
    Insert insert(const spa::ReplayDigest &d, int64_t now_unix, int64_t stamp_unix) override;
    using ReplayStore::insert;
    bool holds_wire_digests(int64_t now_unix) const override {
        return local_.holds_wire_digests(now_unix);
    }

  private:
    policy::ReplayCache &local_;
    Cluster &cluster_;
    int64_t retention_s_;
};

}  // namespace xk::cluster
