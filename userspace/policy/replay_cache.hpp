#pragma once
// Digests of every authentic fko knock seen, so none is accepted twice. Shared by all
// workers: 64 shards, a small mutex each, no global lock. Each shard is a fixed
// open-addressing table allocated once, so the hot path never allocates or rehashes.
// Each digest carries its expiry: retention (2 × the longest proof_time) counted from the
// later of first sight and the packet's own timestamp, so a packet stamped ahead is still
// remembered when its window opens. Expired entries count as free slots. Each insert is
// appended to a journal of framed, checksummed records, so a restart — even a crash or a
// full disk — does not reopen the window; an insert that cannot be journaled is refused.

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "spa/replay_digest.hpp"

namespace xk::policy {

class ReplayCache {
  public:
    // journal_error: the digest is held in memory but could not be written to the journal;
    // the caller refuses the knock (a restart would forget it).
    enum class Insert { added, present, full, journal_error };

    // journal_path "" keeps the cache in memory only (tests, dry runs). capacity is the
    // most live digests held at once (rounded up to a power of two per shard).
    ReplayCache(std::string journal_path, int64_t retention_s, size_t capacity = 1 << 18);
    ~ReplayCache();
    ReplayCache(const ReplayCache &) = delete;
    ReplayCache &operator=(const ReplayCache &) = delete;

    bool contains(const spa::ReplayDigest &d, int64_t now_unix) const;
    // stamp_unix: the packet's own timestamp; the digest lives until
    // max(now, stamp) + retention.
    Insert insert(const spa::ReplayDigest &d, int64_t now_unix, int64_t stamp_unix);
    Insert insert(const spa::ReplayDigest &d, int64_t now_unix) {
        return insert(d, now_unix, now_unix);
    }
    // Compacts every shard (drops expired entries and their probe chains) and rewrites
    // the journal; returns entries kept. Throws if the journal cannot be rewritten (the
    // old journal and the digests in memory stay).
    size_t prune(int64_t now_unix);
    size_t size() const;

  private:
    struct Slot {
        spa::ReplayDigest digest;
        int64_t expires;  // last second the digest is refused; kEmpty: never used
    };
    struct alignas(64) Shard {
        mutable std::mutex mu;
        std::unique_ptr<Slot[]> slots;
        size_t used = 0;  // slots ever filled since the last compaction (live or expired)
        int64_t compacted_at = INT64_MIN;
    };
    static constexpr size_t kShards = 64;

    Shard &shard_of(const spa::ReplayDigest &d) const;
    size_t home(const spa::ReplayDigest &d) const;
    Insert insert_locked(Shard &s, const spa::ReplayDigest &d, int64_t expires, int64_t now_unix);
    void compact_locked(Shard &s, int64_t now_unix);
    bool journal(const spa::ReplayDigest &d, int64_t expires);
    void load();
    void load_records(const uint8_t *data, size_t len, int64_t now);
    void load_legacy(const uint8_t *data, size_t len, int64_t now);
    void rewrite_journal();

    std::string path_;
    int64_t retention_s_;
    size_t mask_;  // slots per shard - 1
    // Appends share it, a rewrite takes it alone: no record is lost to a rename.
    std::shared_mutex journal_mu_;
    int journal_fd_ = -1;
    std::atomic<bool> journal_failing_{false};  // logged once per outage, not per knock
    mutable std::array<Shard, kShards> shards_;
};

}  // namespace xk::policy
