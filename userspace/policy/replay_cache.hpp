#pragma once
// Digests of every authentic fko knock seen, so none is accepted twice. Shared by all
// workers: sharded, a small mutex per shard, no global lock. Entries older than the
// retention (2 × the longest proof_time: older packets fail the time check anyway) are
// dropped. Each insert is appended to a journal file, so a restart — even a crash —
// does not reopen the window.

#include <array>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "spa/replay_digest.hpp"

namespace xk::policy {

class ReplayCache {
  public:
    // journal_path "" keeps the cache in memory only (tests, dry runs).
    ReplayCache(std::string journal_path, int64_t retention_s);
    ~ReplayCache();
    ReplayCache(const ReplayCache &) = delete;
    ReplayCache &operator=(const ReplayCache &) = delete;

    bool contains(const spa::ReplayDigest &d) const;
    // False when the digest was already there: another worker won the race.
    bool insert(const spa::ReplayDigest &d, int64_t now_unix);
    // Drops expired entries and rewrites the journal compactly; returns entries kept.
    size_t prune(int64_t now_unix);
    size_t size() const;

  private:
    struct DigestHash {
        size_t operator()(const spa::ReplayDigest &d) const;
    };
    struct alignas(64) Shard {
        mutable std::mutex mu;
        std::unordered_map<spa::ReplayDigest, int64_t, DigestHash> seen;
    };
    static constexpr size_t kShards = 64;

    Shard &shard_of(const spa::ReplayDigest &d) const;
    void load();
    void rewrite_journal();

    std::string path_;
    int64_t retention_s_;
    // Appends share it (O_APPEND makes each record's write whole on its own), a rewrite takes it
    // alone: workers no longer queue behind each other's write() on every accepted knock.
    std::shared_mutex journal_mu_;
    int journal_fd_ = -1;
    mutable std::array<Shard, kShards> shards_;
};

}  // namespace xk::policy
