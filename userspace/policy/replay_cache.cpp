#include "policy/replay_cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "log/log.hpp"

namespace xk::policy {
namespace {

// Zero, so a freshly mapped table is empty without being written (and stays non-resident).
// No real expiry is 0: it is a time after 1970 plus the retention; insert clamps to >= 1.
constexpr int64_t kEmpty = 0;

// Journal: a header, then fixed records, each framed by a magic and a CRC-32. A torn
// record (a short write on a full disk, a crash mid-write) fails its CRC and the reader
// resyncs on the next magic, so every record after it survives. Version 3 keys HMAC packets
// by their tag; its header carries until when wire digests from a version 1/2 journal may
// still be live (so they are still checked), and an older xdpknockd refuses it (fail closed).
struct Header {
    char magic[8];
    uint32_t version;
    uint32_t record_size;
};
struct HeaderV3 {
    Header head;
    int64_t wire_until;
};
static_assert(sizeof(Header) == 16 && sizeof(HeaderV3) == 24);
constexpr char kFileMagic[8] = {'x', 'k', 'r', 'e', 'p', 'l', 'a', 'y'};
constexpr uint32_t kVersionWireKeys = 2;
constexpr uint32_t kVersion = 3;

struct Record {
    uint32_t magic;
    uint32_t crc;  // of digest and expires
    spa::ReplayDigest digest;
    int64_t expires;
};
static_assert(sizeof(Record) == 48 && offsetof(Record, digest) == 8);
constexpr uint32_t kRecordMagic = 0x31524b58;  // "XKR1"

// Version 1, no header: {digest, first seen}. Read once on upgrade, then rewritten.
struct LegacyRecord {
    spa::ReplayDigest digest;
    int64_t seen;
};
static_assert(sizeof(LegacyRecord) == 40);

constexpr auto kCrcTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}();

uint32_t record_crc(const Record &r) {
    const auto *p = reinterpret_cast<const uint8_t *>(&r) + offsetof(Record, digest);
    uint32_t c = 0xFFFFFFFFu;
    for (size_t n = sizeof(Record) - offsetof(Record, digest); n--;)
        c = kCrcTable[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

Record make_record(const spa::ReplayDigest &d, int64_t expires) {
    Record r{kRecordMagic, 0, d, expires};
    r.crc = record_crc(r);
    return r;
}

int64_t saturating_add(int64_t a, int64_t b) {
    return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

bool live(int64_t expires, int64_t now_unix) {
    return expires != kEmpty && now_unix <= expires;
}

int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

bool write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w == 0) errno = EIO;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

std::vector<uint8_t> read_file(int fd) {
    std::vector<uint8_t> data;  // startup only
    uint8_t chunk[1 << 16];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error(std::strerror(errno));
        if (n == 0) return data;
        data.insert(data.end(), chunk, chunk + n);
    }
}

// The rename is only durable once the folder is synced; best effort.
void sync_folder(const std::string &path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    int fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

}  // namespace

ReplayCache::ReplayCache(std::string journal_path, int64_t retention_s, size_t capacity)
    : path_(std::move(journal_path)), retention_s_(retention_s) {
    // Half-full tables keep probe chains short. One zero-filled mapping, allocated once: a
    // page costs memory only once a key lands in it.
    size_t per_shard = std::bit_ceil(std::max<size_t>(capacity * 2 / kShards, 64));
    mask_ = per_shard - 1;
    slab_bytes_ = kShards * per_shard * sizeof(Slot);
    slab_ = mmap(nullptr, slab_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slab_ == MAP_FAILED) {
        slab_ = nullptr;
        throw std::runtime_error("replay cache: cannot map " + std::to_string(slab_bytes_) +
                                 " bytes (replay_capacity): " + std::strerror(errno));
    }
    for (size_t i = 0; i < kShards; ++i)
        shards_[i].slots = static_cast<Slot *>(slab_) + i * per_shard;
    steady_origin_ = time(nullptr) - monotonic_ns() / 1000000000;
    if (path_.empty()) return;
    load();  // an unreadable journal throws: starting without its digests would reopen them
    try {
        rewrite_journal();
    } catch (const std::runtime_error &e) {
        // A read-only or full state_dir: the gate still gates and plain knocks are judged;
        // fko knocks are refused (journal_error) until a prune can write the journal again.
        journal_failing_ = true;
        XK_ERROR(
            "%s (state_dir); fko knocks are refused (journal_error) until it can be written "
            "(tried again each minute)",
            e.what());
    }
}

ReplayCache::~ReplayCache() {
    if (journal_fd_ >= 0) close(journal_fd_);
    if (slab_) munmap(slab_, slab_bytes_);
}

// The clock that decides what may be dropped: the caller's, held back by keep_live_at and,
// once guard_clock_steps was called, by the steady clock.
int64_t ReplayCache::drop_clock(int64_t now_unix) const {
    int64_t t = std::min(now_unix, keep_live_at_.load(std::memory_order_relaxed));
    return guard_steps_ ? std::min(t, steady_clock(now_unix)) : t;
}

// The wall clock as it would read had it never been stepped (+1: the two round apart). A
// wall clock ahead of it may be stepped back later; once it has been ahead for a whole
// retention, every entry made before the step has expired on both clocks and the step stands.
int64_t ReplayCache::steady_clock(int64_t now_unix) const {
    constexpr auto relaxed = std::memory_order_relaxed;
    const int64_t mono = monotonic_ns();
    const int64_t steady = steady_origin_.load(relaxed) + mono / 1000000000 + 1;
    if (now_unix <= steady) {
        if (ahead_since_ns_.load(relaxed) != INT64_MIN) ahead_since_ns_.store(INT64_MIN, relaxed);
        return now_unix;
    }
    int64_t since = INT64_MIN;
    if (ahead_since_ns_.compare_exchange_strong(since, mono, relaxed) ||
        retention_s_ >= INT64_MAX / 1000000000 || mono - since < retention_s_ * 1000000000)
        return steady;
    steady_origin_.store(now_unix - mono / 1000000000, relaxed);
    ahead_since_ns_.store(INT64_MIN, relaxed);
    return now_unix;
}

// Keys are uniform bytes (a SHA-256 or a MAC; a short MAC's padding lies past byte 15): one
// byte picks the shard, eight others the home slot.
ReplayCache::Shard &ReplayCache::shard_of(const spa::ReplayDigest &d) const {
    return shards_[d[0] % kShards];
}

size_t ReplayCache::home(const spa::ReplayDigest &d) const {
    uint64_t h;
    std::memcpy(&h, d.data() + 8, sizeof(h));
    return static_cast<size_t>(h) & mask_;
}

bool ReplayCache::contains(const spa::ReplayDigest &d, int64_t now_unix) const {
    Shard &s = shard_of(d);
    std::lock_guard lock(s.mu);
    for (size_t i = home(d), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
        const Slot &slot = s.slots[i];
        if (slot.expires == kEmpty) return false;  // end of the probe chain
        if (slot.digest == d) return live(slot.expires, now_unix);
    }
    return false;
}

ReplayCache::Insert ReplayCache::insert_locked(Shard &s, const spa::ReplayDigest &d,
                                               int64_t expires, int64_t now_unix) {
    Slot *reuse = nullptr;  // first expired slot on the chain: reused only once d is known absent
    const int64_t drop_now = drop_clock(now_unix);
    for (size_t i = home(d), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
        Slot &slot = s.slots[i];
        if (slot.expires == kEmpty) {
            if (!reuse) {
                reuse = &slot;
                ++s.used;
            }
            break;
        }
        if (slot.digest == d) {
            if (live(slot.expires, now_unix)) return Insert::present;
            reuse = &slot;  // the same digest, expired: refresh in place
            break;
        }
        if (!reuse && !live(slot.expires, drop_now)) reuse = &slot;
    }
    if (!reuse) return Insert::full;
    reuse->digest = d;
    reuse->expires = expires;
    return Insert::added;
}

ReplayCache::Insert ReplayCache::insert(const spa::ReplayDigest &d, int64_t now_unix,
                                        int64_t stamp_unix) {
    // A packet stamped ahead stays acceptable until stamp + proof_time: remember it that long.
    int64_t expires =
        std::max<int64_t>(saturating_add(std::max(now_unix, stamp_unix), retention_s_), 1);
    Shard &s = shard_of(d);
    Insert r;
    {
        std::lock_guard lock(s.mu);
        // Long chains of expired slots slow every probe: compact before the table clogs,
        // but at most once a second, so a table that is mostly live costs no O(n) per knock.
        if (s.used > mask_ / 4 * 3 && s.compacted_at != now_unix) compact_locked(s, now_unix);
        r = insert_locked(s, d, expires, now_unix);
    }
    if (r != Insert::added || path_.empty()) return r;
    // The digest stays in memory either way; only a journaled one may let a knock through.
    return journal(d, expires) ? Insert::added : Insert::journal_error;
}

// Appends one record. O_APPEND: each record lands at the end whatever other workers do; a
// short one (full disk) is skipped on load by its CRC, and the records after it still count.
bool ReplayCache::journal(const spa::ReplayDigest &d, int64_t expires) {
    Record rec = make_record(d, expires);
    std::shared_lock lock(journal_mu_);  // journal_fd_ is swapped by rewrite_journal
    if (journal_fd_ < 0) return false;   // never opened: said once at start
    ssize_t n = write(journal_fd_, &rec, sizeof(rec));
    if (n == static_cast<ssize_t>(sizeof(rec))) {
        if (journal_failing_.load(std::memory_order_relaxed) && journal_failing_.exchange(false))
            XK_INFO("replay journal %s: writable again", path_.c_str());
        return true;
    }
    const char *why = n < 0 ? std::strerror(errno) : "short write";
    if (!journal_failing_.exchange(true)) {
        XK_ERROR(
            "replay journal %s: %s; fko knocks are refused (journal_error) until it can be "
            "written",
            path_.c_str(), why);
    }
    return false;
}

void ReplayCache::compact_locked(Shard &s, int64_t now_unix) {
    std::vector<Slot> keep;  // rare (a table three-quarters used), never per packet
    const int64_t drop_now = drop_clock(now_unix);
    for (size_t i = 0; i <= mask_; ++i) {
        if (s.slots[i].expires == kEmpty) continue;  // never write a page that is not resident
        if (live(s.slots[i].expires, drop_now)) keep.push_back(s.slots[i]);
        s.slots[i].expires = kEmpty;
    }
    s.used = 0;
    s.compacted_at = now_unix;
    for (const Slot &slot : keep) insert_locked(s, slot.digest, slot.expires, now_unix);
}

size_t ReplayCache::size() const {
    size_t n = 0;
    int64_t now = time(nullptr);
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        for (size_t i = 0; i <= mask_; ++i) n += live(s.slots[i].expires, now);
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
    std::vector<uint8_t> data;
    try {
        data = read_file(fd);
    } catch (const std::runtime_error &e) {
        close(fd);
        throw std::runtime_error(path_ + ": " + e.what());
    }
    close(fd);
    int64_t now = time(nullptr);
    Header h;
    // Versions 1 and 2 hold wire digests only: HMAC packets are checked by those too until
    // the last of them expires.
    if (data.size() < sizeof(h) || std::memcmp(data.data(), kFileMagic, sizeof(kFileMagic))) {
        wire_until_ = load_legacy(data.data(), data.size(), now);
        return;
    }
    std::memcpy(&h, data.data(), sizeof(h));
    HeaderV3 h3{};
    if (h.version == kVersion && data.size() >= sizeof(h3))
        std::memcpy(&h3, data.data(), sizeof(h3));
    // Fail closed: a journal we cannot read would forget digests, reopening replays.
    if ((h.version != kVersion && h.version != kVersionWireKeys) ||
        h.record_size != sizeof(Record) || (h.version == kVersion && data.size() < sizeof(h3))) {
        throw std::runtime_error(path_ + ": replay journal version " + std::to_string(h.version) +
                                 " is not supported by this xdpknockd");
    }
    const size_t head = h.version == kVersion ? sizeof(h3) : sizeof(h);
    int64_t last = load_records(data.data() + head, data.size() - head, now);
    wire_until_ = h.version == kVersion ? h3.wire_until : last;
}

// Returns the latest expiry it kept (INT64_MIN if none).
int64_t ReplayCache::load_records(const uint8_t *data, size_t len, int64_t now) {
    int64_t last = INT64_MIN;
    for (size_t p = 0; p + sizeof(Record) <= len;) {
        Record r;
        std::memcpy(&r, data + p, sizeof(r));
        if (r.magic != kRecordMagic || r.crc != record_crc(r)) {
            ++p;  // torn or corrupt: resync on the next magic
            continue;
        }
        p += sizeof(r);
        if (!live(r.expires, now)) continue;
        insert_locked(shard_of(r.digest), r.digest, r.expires, now);
        last = std::max(last, r.expires);
    }
    return last;
}

int64_t ReplayCache::load_legacy(const uint8_t *data, size_t len, int64_t now) {
    int64_t last = INT64_MIN;
    for (size_t p = 0; p + sizeof(LegacyRecord) <= len; p += sizeof(LegacyRecord)) {
        LegacyRecord r;
        std::memcpy(&r, data + p, sizeof(r));
        // A corrupt record (impossible time) is skipped, never trusted.
        if (r.seen == kEmpty || r.seen > now + 86400) continue;
        int64_t expires = saturating_add(r.seen, retention_s_);
        if (!live(expires, now)) continue;
        insert_locked(shard_of(r.digest), r.digest, expires, now);
        last = std::max(last, expires);
    }
    return last;
}

// Writes the live entries to a new file and renames it over the journal; appends then go
// to the new file through the same descriptor (no reopen by name).
void ReplayCache::rewrite_journal() {
    std::unique_lock journal_lock(journal_mu_);
    std::string tmp = path_ + ".tmp";
    // Never write through a planted link or a stale file: remove it, then create it anew.
    if (unlink(tmp.c_str()) != 0 && errno != ENOENT)
        throw std::runtime_error(tmp + ": " + std::strerror(errno));
    int fd =
        open(tmp.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(tmp + ": " + std::strerror(errno));
    HeaderV3 h{{{}, kVersion, static_cast<uint32_t>(sizeof(Record))}, wire_until_};
    std::memcpy(h.head.magic, kFileMagic, sizeof(h.head.magic));
    std::vector<uint8_t> out(reinterpret_cast<const uint8_t *>(&h),
                             reinterpret_cast<const uint8_t *>(&h + 1));
    int64_t now = time(nullptr);
    for (auto &s : shards_) {
        std::lock_guard lock(s.mu);
        for (size_t i = 0; i <= mask_; ++i) {
            if (!live(s.slots[i].expires, now)) continue;
            Record r = make_record(s.slots[i].digest, s.slots[i].expires);
            const auto *b = reinterpret_cast<const uint8_t *>(&r);
            out.insert(out.end(), b, b + sizeof(r));
        }
    }
    if (!write_all(fd, out.data(), out.size()) || fsync(fd) != 0 ||
        rename(tmp.c_str(), path_.c_str()) != 0) {
        std::string why = std::strerror(errno);
        close(fd);
        unlink(tmp.c_str());
        throw std::runtime_error(path_ + ": cannot write the replay journal: " + why);
    }
    sync_folder(path_);
    std::swap(journal_fd_, fd);
    if (fd >= 0) close(fd);
}

}  // namespace xk::policy
