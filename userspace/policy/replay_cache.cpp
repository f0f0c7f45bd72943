#include "policy/replay_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace xk::policy {
namespace {

constexpr int64_t kEmpty = INT64_MIN;

// Journal record: the digest and the Unix time it was first seen. Fixed size, so a
// torn last record (crash mid-write) is recognised and ignored.
struct Record {
    spa::ReplayDigest digest;
    int64_t seen;
};
static_assert(sizeof(Record) == 40);

}  // namespace

ReplayCache::ReplayCache(std::string journal_path, int64_t retention_s, size_t capacity)
    : path_(std::move(journal_path)), retention_s_(retention_s) {
    // Half-full tables keep probe chains short; one slot array per shard, allocated once.
    size_t per_shard = std::bit_ceil(std::max<size_t>(capacity * 2 / kShards, 64));
    mask_ = per_shard - 1;
    for (auto &s : shards_) {
        s.slots.reset(new Slot[per_shard]);
        for (size_t i = 0; i < per_shard; ++i) s.slots[i].seen = kEmpty;
    }
    if (path_.empty()) return;
    load();
    rewrite_journal();
}

ReplayCache::~ReplayCache() {
    if (journal_fd_ >= 0) close(journal_fd_);
}

// SHA-256 bytes are uniform: one byte picks the shard, eight others the home slot.
ReplayCache::Shard &ReplayCache::shard_of(const spa::ReplayDigest &d) const {
    return shards_[d[0] % kShards];
}

size_t ReplayCache::home(const spa::ReplayDigest &d) const {
    uint64_t h;
    std::memcpy(&h, d.data() + 8, sizeof(h));
    return static_cast<size_t>(h) & mask_;
}

bool ReplayCache::live(const Slot &s, int64_t now_unix) const {
    return s.seen != kEmpty && now_unix - s.seen <= retention_s_;
}

bool ReplayCache::contains(const spa::ReplayDigest &d, int64_t now_unix) const {
    Shard &s = shard_of(d);
    std::lock_guard lock(s.mu);
    for (size_t i = home(d), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
        const Slot &slot = s.slots[i];
        if (slot.seen == kEmpty) return false;  // end of the probe chain
        if (slot.digest == d) return live(slot, now_unix);
    }
    return false;
}

ReplayCache::Insert ReplayCache::insert_locked(Shard &s, const spa::ReplayDigest &d, int64_t seen,
                                               int64_t now_unix) {
    Slot *reuse = nullptr;  // first expired slot on the chain: reused only once d is known absent
    for (size_t i = home(d), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
        Slot &slot = s.slots[i];
        if (slot.seen == kEmpty) {
            if (!reuse) {
                reuse = &slot;
                ++s.used;
            }
            break;
        }
        if (slot.digest == d) {
            if (live(slot, now_unix)) return Insert::present;
            reuse = &slot;  // the same digest, expired: refresh in place
            break;
        }
        if (!reuse && !live(slot, now_unix)) reuse = &slot;
    }
    if (!reuse) return Insert::full;
    reuse->digest = d;
    reuse->seen = seen;
    return Insert::added;
}

ReplayCache::Insert ReplayCache::insert(const spa::ReplayDigest &d, int64_t now_unix) {
    Shard &s = shard_of(d);
    Insert r;
    {
        std::lock_guard lock(s.mu);
        // Long chains of expired slots slow every probe: compact before the table clogs,
        // but at most once a second, so a table that is mostly live costs no O(n) per knock.
        if (s.used > mask_ / 4 * 3 && s.compacted_at != now_unix) compact_locked(s, now_unix);
        r = insert_locked(s, d, now_unix, now_unix);
    }
    if (r != Insert::added || path_.empty()) return r;
    std::shared_lock lock(journal_mu_);  // journal_fd_ is swapped by rewrite_journal
    if (journal_fd_ < 0) return r;
    Record rec{d, now_unix};
    // O_APPEND: each record lands whole, in one write, whatever other workers do.
    if (write(journal_fd_, &rec, sizeof(rec)) != static_cast<ssize_t>(sizeof(rec))) {
        perror("xdpknockd: replay journal write");
    }
    return r;
}

void ReplayCache::compact_locked(Shard &s, int64_t now_unix) {
    std::vector<Slot> keep;  // rare (a table three-quarters used), never per packet
    for (size_t i = 0; i <= mask_; ++i) {
        if (live(s.slots[i], now_unix)) keep.push_back(s.slots[i]);
        s.slots[i].seen = kEmpty;
    }
    s.used = 0;
    s.compacted_at = now_unix;
    for (const Slot &slot : keep) insert_locked(s, slot.digest, slot.seen, now_unix);
}

size_t ReplayCache::size() const {
    size_t n = 0;
    int64_t now = time(nullptr);
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        for (size_t i = 0; i <= mask_; ++i) n += live(s.slots[i], now);
    }
    return n;
}

size_t ReplayCache::prune(int64_t now_unix) {
    size_t kept = 0;
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        compact_locked(s, now_unix);
        kept += s.used;
    }
    if (!path_.empty()) rewrite_journal();
    return kept;
}

void ReplayCache::load() {
    int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        throw std::runtime_error(path_ + ": " + std::strerror(errno));
    }
    Record r;
    int64_t now = time(nullptr);
    while (read(fd, &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) {
        // A torn or corrupt record (impossible time) is skipped, never trusted.
        if (r.seen == kEmpty || r.seen > now + 86400 || now - r.seen > retention_s_) continue;
        Shard &s = shard_of(r.digest);
        insert_locked(s, r.digest, r.seen, now);
    }
    close(fd);
}

// Writes the live entries to a new file and renames it over the journal.
void ReplayCache::rewrite_journal() {
    std::unique_lock journal_lock(journal_mu_);
    std::string tmp = path_ + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(tmp + ": " + std::strerror(errno));
    std::vector<Record> all;
    int64_t now = time(nullptr);
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        for (size_t i = 0; i <= mask_; ++i) {
            if (live(s.slots[i], now)) all.push_back({s.slots[i].digest, s.slots[i].seen});
        }
    }
    size_t bytes = all.size() * sizeof(Record);
    bool ok = bytes == 0 || write(fd, all.data(), bytes) == static_cast<ssize_t>(bytes);
    ok = fsync(fd) == 0 && ok;
    close(fd);
    if (!ok || rename(tmp.c_str(), path_.c_str()) != 0) {
        throw std::runtime_error(path_ + ": cannot write the replay journal");
    }
    int old = journal_fd_;
    journal_fd_ = open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (old >= 0) close(old);
    if (journal_fd_ < 0) throw std::runtime_error(path_ + ": " + std::strerror(errno));
}

}  // namespace xk::policy
