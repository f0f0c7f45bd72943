#include "policy/replay_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace xk::policy {
namespace {

// Journal record: the digest and the Unix time it was first seen. Fixed size, so a
// torn last record (crash mid-write) is recognised and ignored.
struct Record {
    spa::ReplayDigest digest;
    int64_t seen;
};
static_assert(sizeof(Record) == 40);

}  // namespace

size_t ReplayCache::DigestHash::operator()(const spa::ReplayDigest &d) const {
    size_t h;
    std::memcpy(&h, d.data() + 8, sizeof(h));  // SHA-256 bytes are already uniform
    return h;
}

ReplayCache::ReplayCache(std::string journal_path, int64_t retention_s)
    : path_(std::move(journal_path)), retention_s_(retention_s) {
    if (path_.empty()) return;
    load();
    rewrite_journal();
}

ReplayCache::~ReplayCache() {
    if (journal_fd_ >= 0) close(journal_fd_);
}

ReplayCache::Shard &ReplayCache::shard_of(const spa::ReplayDigest &d) const {
    return shards_[d[0] % kShards];
}

bool ReplayCache::contains(const spa::ReplayDigest &d) const {
    Shard &s = shard_of(d);
    std::lock_guard lock(s.mu);
    return s.seen.count(d) != 0;
}

bool ReplayCache::insert(const spa::ReplayDigest &d, int64_t now_unix) {
    Shard &s = shard_of(d);
    {
        std::lock_guard lock(s.mu);
        if (!s.seen.emplace(d, now_unix).second) return false;
    }
    if (path_.empty()) return true;  // in memory only: no journal lock to bounce between workers
    std::shared_lock lock(journal_mu_);  // a concurrent rewrite must not lose this record
    if (journal_fd_ >= 0) {
        Record r{d, now_unix};
        // O_APPEND: one write per record, whole, even with several workers.
        if (write(journal_fd_, &r, sizeof(r)) != static_cast<ssize_t>(sizeof(r))) {
            perror("xdpknockd: replay journal write");
        }
    }
    return true;
}

size_t ReplayCache::size() const {
    size_t n = 0;
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.seen.size();
    }
    return n;
}

size_t ReplayCache::prune(int64_t now_unix) {
    bool dropped = false;
    size_t kept = 0;
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        for (auto it = s.seen.begin(); it != s.seen.end();) {
            if (now_unix - it->second > retention_s_) {
                it = s.seen.erase(it);
                dropped = true;
            } else {
                ++it;
            }
        }
        kept += s.seen.size();
    }
    if (dropped && !path_.empty()) rewrite_journal();
    return kept;
}

void ReplayCache::load() {
    int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return;
        throw std::runtime_error(path_ + ": " + std::strerror(errno));
    }
    Record r;
    time_t now = time(nullptr);
    while (read(fd, &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) {
        if (now - r.seen > retention_s_) continue;
        Shard &s = shard_of(r.digest);
        s.seen.emplace(r.digest, r.seen);
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
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        for (const auto &[d, seen] : s.seen) all.push_back({d, seen});
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
