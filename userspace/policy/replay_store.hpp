#pragma once
// The replay seam: where "was this knock seen before?" is decided, once per packet. The local
// cache (policy/replay_cache.hpp) is one backend; the cluster's (cluster/cluster_replay.hpp)
// asks Redis behind it, so a knock replayed to another gateway is refused too.

#include <cstdint>

#include "spa/replay_digest.hpp"

namespace xk::policy {

class ReplayStore {
  public:
    // journal_error: the digest is held in memory but could not be written to the journal;
    // the caller refuses the knock (a restart would forget it).
    enum class Insert { added, present, full, journal_error };

    virtual ~ReplayStore() = default;
    virtual bool contains(const spa::ReplayDigest &d, int64_t now_unix) const = 0;
    // stamp_unix: the packet's own timestamp; the digest lives until
    // max(now, stamp) + retention. Exactly one caller gets `added` for a digest.
    virtual Insert insert(const spa::ReplayDigest &d, int64_t now_unix, int64_t stamp_unix) = 0;
    Insert insert(const spa::ReplayDigest &d, int64_t now_unix) {
        return insert(d, now_unix, now_unix);
    }
    // True while a journal written before tag keys may still hold a live entry: HMAC packets
    // are then also checked by their wire digest.
    virtual bool holds_wire_digests(int64_t now_unix) const = 0;
};

}  // namespace xk::policy
