#pragma once
// Replay keys of every authentic fko knock seen (its HMAC tag, or the SHA-256 of its wire:
// methods/packet_replay.hpp), so none is accepted twice. Shared by all workers: 64 shards, a
// small mutex each, no global lock. Each shard is a fixed open-addressing table allocated
// once, so the hot path never allocates or rehashes; the tables are mapped zero-filled and
// a page becomes resident only once a key lands in it (an idle router pays ~nothing for a
// large capacity). Each key carries its expiry: retention (2 × the longest proof_time)
// counted from the later of first sight and the packet's own timestamp, so a packet stamped
// ahead is still remembered when its window opens. Expired entries count as free slots.
// Each insert is appended to a journal of framed, checksummed records, so a restart — even a
// crash or a full disk — does not reopen the window; an insert that cannot be journaled is
// refused (also when the journal could not be opened at start: a read-only state_dir).

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "policy/replay_store.hpp"
#include "spa/replay_digest.hpp"

namespace xk::policy {

class ReplayCache : public ReplayStore {
  public:
    // journal_path "" keeps the cache in memory only (tests, dry runs). capacity is the
    // most live keys held at once: 2 × capacity slots of 40 bytes (rounded up to a power of
    // two per shard) are reserved, resident as they fill (65,536 → at most 5 MiB).
    ReplayCache(std::string journal_path, int64_t retention_s, size_t capacity = 65536);
    ~ReplayCache();
    ReplayCache(const ReplayCache &) = delete;
    ReplayCache &operator=(const ReplayCache &) = delete;

    bool contains(const spa::ReplayDigest &d, int64_t now_unix) const override;
    Insert insert(const spa::ReplayDigest &d, int64_t now_unix, int64_t stamp_unix) override;
    using ReplayStore::insert;
    // Compacts every shard (drops expired entries and their probe chains) and rewrites
    // the journal; returns entries kept. Throws if the journal cannot be rewritten (the
    // old journal and the digests in memory stay).
    size_t prune(int64_t now_unix);
    size_t size() const;
    // Bytes reserved for the tables (what a full cache keeps resident).
    size_t reserved_bytes() const { return kShards * (mask_ + 1) * sizeof(Slot); }

    // Version 1 and 2 journals held wire digests only.
    bool holds_wire_digests(int64_t now_unix) const override { return now_unix <= wire_until_; }

    // Entries still live at unix_s are kept (never compacted away or reused) even by a caller
    // whose clock is later, so threads judging a capture out of order agree on what the cache
    // holds (pcap dry run). Default INT64_MAX: each caller's clock decides.
    void keep_live_at(int64_t unix_s) { keep_live_at_.store(unix_s, std::memory_order_relaxed); }

    // For a cache judged by the wall clock as it runs (the daemon): an entry is dropped only
    // once it expired by the wall clock and by a steady one (the wall clock at start plus
    // the monotonic time since), so a wall clock stepped ahead and back again never drops a
    // digest whose packet would be acceptable again. A step that stays for a whole
    // retention is taken (every entry from before it has expired on both clocks by then).
    void guard_clock_steps() { guard_steps_ = true; }

  private:
    struct Slot {
        spa::ReplayDigest digest;
        int64_t expires;  // last second the key is refused; 0 (kEmpty): never used
    };
    struct alignas(64) Shard {
        mutable std::mutex mu;
        Slot *slots = nullptr;  // inside slab_
        size_t used = 0;        // slots ever filled since the last compaction (live or expired)
        int64_t compacted_at = INT64_MIN;
    };
    static constexpr size_t kShards = 64;

    Shard &shard_of(const spa::ReplayDigest &d) const;
    size_t home(const spa::ReplayDigest &d) const;
    Insert insert_locked(Shard &s, const spa::ReplayDigest &d, int64_t expires, int64_t now_unix);
    void compact_locked(Shard &s, int64_t now_unix);
    bool journal(const spa::ReplayDigest &d, int64_t expires);
    void load();
    int64_t load_records(const uint8_t *data, size_t len, int64_t now);
    int64_t load_legacy(const uint8_t *data, size_t len, int64_t now);
    void rewrite_journal();
    int64_t drop_clock(int64_t now_unix) const;
    int64_t steady_clock(int64_t now_unix) const;

    std::string path_;
    int64_t retention_s_;
    size_t mask_;           // slots per shard - 1
    void *slab_ = nullptr;  // every shard's slots, one anonymous mapping
    size_t slab_bytes_ = 0;
    int64_t wire_until_ = INT64_MIN;  // last second a pre-tag-key wire digest may be live
    std::atomic<int64_t> keep_live_at_{INT64_MAX};
    bool guard_steps_ = false;
    mutable std::atomic<int64_t> steady_origin_;              // wall - monotonic seconds, at start
    mutable std::atomic<int64_t> ahead_since_ns_{INT64_MIN};  // monotonic; MIN: not ahead
    // Appends share it, a rewrite takes it alone: no record is lost to a rename.
    std::shared_mutex journal_mu_;
    int journal_fd_ = -1;
    std::atomic<bool> journal_failing_{false};  // logged once per outage, not per knock
    mutable std::array<Shard, kShards> shards_;
};

}  // namespace xk::policy
