#pragma once
// Digests of every authentic fko knock seen, so none is accepted twice. Shared by all
// workers: 64 shards, a small mutex each, no global lock. Each shard is a fixed
// open-addressing table allocated once, so the hot path never allocates or rehashes.
// Entries older than the retention (2 × the longest proof_time: older packets fail the
// time check anyway) count as free slots. Each insert is appended to a journal file, so
// a restart — even a crash — does not reopen the window.

#include <array>
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
    enum class Insert { added, present, full };

    // journal_path "" keeps the cache in memory only (tests, dry runs). capacity is the
    // most live digests held at once (rounded up to a power of two per shard).
    ReplayCache(std::string journal_path, int64_t retention_s, size_t capacity = 1 << 18);
    ~ReplayCache();
    ReplayCache(const ReplayCache &) = delete;
    ReplayCache &operator=(const ReplayCache &) = delete;

    bool contains(const spa::ReplayDigest &d, int64_t now_unix) const;
    Insert insert(const spa::ReplayDigest &d, int64_t now_unix);
    // Compacts every shard (drops expired entries and their probe chains) and rewrites
    // the journal; returns entries kept.
    size_t prune(int64_t now_unix);
    size_t size() const;

  private:
    struct Slot {
        spa::ReplayDigest digest;
        int64_t seen;  // kEmpty: never used
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
    bool live(const Slot &s, int64_t now_unix) const;
    Insert insert_locked(Shard &s, const spa::ReplayDigest &d, int64_t seen, int64_t now_unix);
    void compact_locked(Shard &s, int64_t now_unix);
    void load();
    void rewrite_journal();

    std::string path_;
    int64_t retention_s_;
    size_t mask_;  // slots per shard - 1
    // Appends share it, a rewrite takes it alone: no record is lost to a rename.
    std::shared_mutex journal_mu_;
    int journal_fd_ = -1;
    mutable std::array<Shard, kShards> shards_;
};

}  // namespace xk::policy
