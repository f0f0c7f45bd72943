#include "cluster/cluster_replay.hpp"

#include <algorithm>

namespace xk::cluster {

// The local cache decides first, so the gateway's own workers agree on one winner; only
// that winner asks Redis, which picks one among the gateways. A digest Redis had seen
// stays in the local cache: its next copy here is a local hit.
policy::ReplayStore::Insert ClusterReplay::insert(const spa::ReplayDigest &d, int64_t now_unix,
                                                  int64_t stamp_unix) {
    const Insert local = local_.insert(d, now_unix, stamp_unix);
    if (local != Insert::added) return local;
    // As long as the local cache keeps it: from the later of now and the packet's stamp.
    const int64_t ttl = std::max(now_unix, stamp_unix) - now_unix + retention_s_;
    switch (cluster_.claim(d, ttl)) {
        case Cluster::Claim::seen:
            return Insert::present;
        case Cluster::Claim::first:
            return Insert::added;
        case Cluster::Claim::unknown:
            break;
    }
    cluster_.unclaimed(d, ttl);
    return Insert::added;
}

}  // namespace xk::cluster
