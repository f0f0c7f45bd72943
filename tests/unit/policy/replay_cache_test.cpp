// The replay journal: framed records survive a torn one, an unwritable journal refuses the
// knock, the old format is read on upgrade, and the rewrite never follows a planted link.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sched.h>
#include <string>
#include <vector>

#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "spa/fko_encode.hpp"

namespace xk::spa {
// Failures name the reason, not its byte.
void PrintTo(Reject r, std::ostream *os) {
    *os << reject_name(r);
}
}  // namespace xk::spa

using namespace xk::policy;
using xk::spa::Reject;
using xk::spa::ReplayDigest;
using Insert = ReplayCache::Insert;

namespace {

ReplayDigest digest(uint8_t n) {
    ReplayDigest d{};
    d[0] = n;
    d[8] = n;
    d[31] = 0xa5;
    return d;
}

std::vector<uint8_t> slurp(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void append(const std::string &path, const uint8_t *data, size_t n) {
    int fd = open(path.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, data, n), static_cast<ssize_t>(n));
    close(fd);
}

class TempDir {
  public:
    TempDir() {
        char dir[] = "/tmp/xk-replay-XXXXXX";
        EXPECT_TRUE(mkdtemp(dir));
        path_ = dir;
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const char *name) const { return path_ + "/" + name; }
    const std::string &path() const { return path_; }

  private:
    std::string path_;
};

size_t count(const std::string &text, const std::string &needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

}  // namespace

TEST(ReplayJournal, TornRecordInTheMiddleIsSkippedAndLaterRecordsSurvive) {
    TempDir dir;
    std::string path = dir.file("replay.journal");
    int64_t now = time(nullptr);
    {
        ReplayCache cache(path, 240);
        ASSERT_EQ(cache.insert(digest(1), now), Insert::added);
        // What a full disk or a crash leaves: the first 20 bytes of a record, then the
        // later appends right behind it.
        std::vector<uint8_t> file = slurp(path);
        ASSERT_GE(file.size(), 40u);
        std::vector<uint8_t> torn(file.end() - 40, file.end() - 20);
        append(path, torn.data(), torn.size());
        ASSERT_EQ(cache.insert(digest(2), now), Insert::added);
        ASSERT_EQ(cache.insert(digest(3), now), Insert::added);
    }
    ReplayCache again(path, 240);
    EXPECT_TRUE(again.contains(digest(1), now));
    EXPECT_TRUE(again.contains(digest(2), now));
    EXPECT_TRUE(again.contains(digest(3), now));
    EXPECT_EQ(again.size(), 3u);
}

TEST(ReplayJournal, ACorruptRecordIsNotTrusted) {
    TempDir dir;
    std::string path = dir.file("replay.journal");
    int64_t now = time(nullptr);
    {
        ReplayCache cache(path, 240);
        ASSERT_EQ(cache.insert(digest(1), now), Insert::added);
        ASSERT_EQ(cache.insert(digest(2), now), Insert::added);
    }
    // Flip digest(1)'s first byte inside its record on disk.
    std::vector<uint8_t> file = slurp(path);
    size_t hits = 0;
    for (size_t i = 0; i + 32 <= file.size(); ++i) {
        if (std::memcmp(file.data() + i, digest(1).data(), 32) == 0) {
            file[i] ^= 0x40;
            ++hits;
        }
    }
    ASSERT_EQ(hits, 1u);
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char *>(file.data()),
               static_cast<std::streamsize>(file.size()));
    ReplayCache again(path, 240);
    ReplayDigest flipped = digest(1);
    flipped[0] ^= 0x40;
    EXPECT_FALSE(again.contains(flipped, now));
    EXPECT_TRUE(again.contains(digest(2), now));
}

TEST(ReplayJournal, TheExpiryOfAPacketStampedAheadSurvivesARestart) {
    TempDir dir;
    std::string path = dir.file("replay.journal");
    int64_t now = time(nullptr);
    {
        ReplayCache cache(path, 240);
        ASSERT_EQ(cache.insert(digest(1), now, now + 1000), Insert::added);
    }
    ReplayCache again(path, 240);
    EXPECT_TRUE(again.contains(digest(1), now + 1000 + 240));
    EXPECT_FALSE(again.contains(digest(1), now + 1000 + 241));
}

TEST(ReplayJournal, OldFormatJournalIsLoadedAndRewritten) {
    TempDir dir;
    std::string path = dir.file("replay.journal");
    int64_t now = time(nullptr);
    struct Old {
        ReplayDigest digest;
        int64_t seen;
    };
    Old old[] = {{digest(1), now - 10}, {digest(2), now - 1000}, {digest(3), INT64_MIN}};
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char *>(old), sizeof(old));
    {
        ReplayCache cache(path, 240);
        EXPECT_TRUE(cache.contains(digest(1), now));
        EXPECT_TRUE(cache.contains(digest(1), now - 10 + 240));  // retention from first sight
        EXPECT_FALSE(cache.contains(digest(2), now));            // past retention
        EXPECT_EQ(cache.size(), 1u);
    }
    std::vector<uint8_t> file = slurp(path);
    ASSERT_GE(file.size(), 8u);
    EXPECT_EQ(std::string(file.begin(), file.begin() + 8), "xkreplay");  // upgraded in place
    ReplayCache again(path, 240);
    EXPECT_TRUE(again.contains(digest(1), now));
}

TEST(ReplayJournal, AnUnknownVersionRefusesToStart) {
    TempDir dir;
    std::string path = dir.file("replay.journal");
    struct {
        char magic[8];
        uint32_t version, record_size;
    } header{{'x', 'k', 'r', 'e', 'p', 'l', 'a', 'y'}, 9, 48};
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char *>(&header), sizeof(header));
    EXPECT_THROW(ReplayCache(path, 240), std::runtime_error);
}

TEST(ReplayJournal, TheRewriteNeverFollowsATempFileLink) {
    TempDir dir;
    std::string path = dir.file("replay.journal"), victim = dir.file("victim");
    std::ofstream(victim) << "victim";
    ASSERT_EQ(symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
    int64_t now = time(nullptr);
    {
        ReplayCache cache(path, 240);
        ASSERT_EQ(cache.insert(digest(1), now), Insert::added);
        // Planted again while running: the next prune must not follow it either.
        ASSERT_EQ(symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
        EXPECT_EQ(cache.prune(now), 1u);
    }
    std::vector<uint8_t> v = slurp(victim);
    EXPECT_EQ(std::string(v.begin(), v.end()), "victim");
    struct stat st {};
    ASSERT_EQ(lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path + ".tmp")));
    ReplayCache again(path, 240);
    EXPECT_TRUE(again.contains(digest(1), now));
}

namespace {

Config fko_config() {
    return parse_config(
        R"({"interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [{"name": "r", "method": "fko", "open": ["tcp/22"],
                  "secrets": [{"label": "k", "key": "k1", "hmac_key": "h1"}]}]})");
}

// A fresh knock (new random) for range 0, stamped now.
std::string fko_packet(const Config &c, int64_t now) {
    std::string error;
    auto ctx = xk::spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, error);
    EXPECT_TRUE(ctx) << error;
    xk::spa::FkoRequest req;
    req.timestamp = now;
    req.message = "192.0.2.10,tcp/22";
    std::string pkt(xk::spa::kMaxEncoded, '\0');
    size_t n = 0;
    EXPECT_EQ(xk::spa::fko_encode(*ctx, req, pkt, n), Reject::ok);
    pkt.resize(n);
    return pkt;
}

Reject judge(KnockPolicy &policy, const std::string &pkt, int64_t now) {
    Knock k;
    k.source = *parse_address("192.0.2.10");
    k.port = 62201;
    k.now = now;
    k.payload = {reinterpret_cast<const uint8_t *>(pkt.data()), pkt.size()};
    return policy.check(k).reason;
}

// Caps the size of files this process writes (EFBIG past it, a short write across it).
class FileSizeLimit {
  public:
    explicit FileSizeLimit(rlim_t bytes) {
        getrlimit(RLIMIT_FSIZE, &saved_);
        signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead of killing us
        rlimit cap = saved_;
        cap.rlim_cur = bytes;
        EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &cap), 0);
    }
    ~FileSizeLimit() { setrlimit(RLIMIT_FSIZE, &saved_); }

  private:
    rlimit saved_{};
};

}  // namespace

TEST(ReplayJournal, AShortOrFailedWriteRefusesTheKnockAndLogsOnce) {
    TempDir dir;
    std::string path = dir.file("replay.journal");
    Config c = fko_config();
    int64_t now = time(nullptr);
    std::string first = fko_packet(c, now), torn = fko_packet(c, now), denied = fko_packet(c, now),
                later = fko_packet(c, now);
    {
        ReplayCache replay(path, KnockPolicy::replay_retention(c));
        KnockPolicy policy(c, &replay);
        // Enough records that the captured log's own file stays under the cap below.
        for (uint8_t i = 1; i <= 100; ++i) ASSERT_EQ(replay.insert(digest(i), now), Insert::added);
        ASSERT_EQ(judge(policy, first, now), Reject::ok);
        testing::internal::CaptureStderr();
        {
            FileSizeLimit cap(std::filesystem::file_size(path) + 20);
            EXPECT_EQ(judge(policy, torn, now), Reject::journal_error);    // 20 of 48 bytes
            EXPECT_EQ(judge(policy, denied, now), Reject::journal_error);  // EFBIG
            EXPECT_EQ(judge(policy, denied, now), Reject::replay);         // never accepted
            EXPECT_EQ(judge(policy, torn, now), Reject::replay);
        }
        EXPECT_EQ(judge(policy, later, now), Reject::ok);  // the disk has room again
        std::string log = testing::internal::GetCapturedStderr();
        EXPECT_EQ(count(log, "journal_error"), 1u) << log;
        EXPECT_EQ(count(log, "writable again"), 1u) << log;
    }
    // The torn record shifted nothing: every whole record after it is still read.
    ReplayCache again(path, KnockPolicy::replay_retention(c));
    KnockPolicy policy(c, &again);
    EXPECT_EQ(judge(policy, first, now), Reject::replay);
    EXPECT_EQ(judge(policy, later, now), Reject::replay);
    EXPECT_EQ(again.size(), 102u);
}

namespace {

// A private mount namespace with a 64 KiB tmpfs: a full disk that is really full.
class TinyTmpfs {
  public:
    TinyTmpfs() {
        if (geteuid() != 0) return;
        if (unshare(CLONE_NEWNS) != 0) return;
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return;
        if (mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0) return;
        mounted_ = true;
    }
    ~TinyTmpfs() {
        if (mounted_) umount2(dir_.path().c_str(), MNT_DETACH);
    }
    bool mounted() const { return mounted_; }
    std::string file(const char *name) const { return dir_.file(name); }

    // Writes a filler file until the filesystem refuses more.
    void fill() {
        int fd = open(file("filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ASSERT_GE(fd, 0);
        std::vector<char> block(4096, 'f');
        while (write(fd, block.data(), block.size()) > 0) {
        }
        EXPECT_EQ(errno, ENOSPC);
        close(fd);
    }
    void unfill() { ASSERT_EQ(unlink(file("filler").c_str()), 0); }

  private:
    TempDir dir_;
    bool mounted_ = false;
};

}  // namespace

TEST(ReplayJournal, OnAFullFilesystemTheKnockIsRefusedNeverAccepted) {
    TinyTmpfs fs;
    if (!fs.mounted()) GTEST_SKIP() << "needs root to mount a tmpfs in a private namespace";
    std::string path = fs.file("replay.journal");
    Config c = fko_config();
    int64_t now = time(nullptr);
    std::string before = fko_packet(c, now), after = fko_packet(c, now);
    {
        ReplayCache replay(path, KnockPolicy::replay_retention(c));
        KnockPolicy policy(c, &replay);
        ASSERT_EQ(judge(policy, before, now), Reject::ok);
        fs.fill();
        // The journal's last page may still hold a few records: use it up.
        size_t journaled = 0;
        for (uint8_t i = 1; i < 250; ++i) {
            Insert r = replay.insert(digest(i), now);
            if (r == Insert::journal_error) break;
            ASSERT_EQ(r, Insert::added);
            ++journaled;
        }
        ASSERT_LT(journaled, 249u) << "the journal never hit the full disk";
        for (int i = 0; i < 3; ++i) {
            std::string pkt = fko_packet(c, now);
            EXPECT_EQ(judge(policy, pkt, now), Reject::journal_error) << i;
            EXPECT_EQ(judge(policy, pkt, now), Reject::replay) << i;
        }
        fs.unfill();
        EXPECT_EQ(judge(policy, after, now), Reject::ok);
    }
    // After the outage, the records written whole on either side of it are all read back.
    ReplayCache again(path, KnockPolicy::replay_retention(c));
    KnockPolicy policy(c, &again);
    EXPECT_EQ(judge(policy, before, now), Reject::replay);
    EXPECT_EQ(judge(policy, after, now), Reject::replay);
}

TEST(ReplayCacheTable, KeepLiveAtHoldsWhatACallerAheadInTimeWouldDrop) {
    ReplayCache cache("", 100, 1);  // 64 slots per shard; digests with d[0] == 0 share one
    auto key = [](uint32_t i) {
        ReplayDigest d{};
        std::memcpy(d.data() + 8, &i, sizeof(i));
        return d;
    };
    for (uint32_t i = 0; i < 64; ++i) ASSERT_EQ(cache.insert(key(i), 1000), Insert::added) << i;
    // A worker judging a later frame (1200: all of them expired for it) must not take the
    // slots of entries a worker still at 1050 relies on.
    cache.keep_live_at(1050);
    EXPECT_EQ(cache.insert(key(100), 1200), Insert::full);
    EXPECT_EQ(cache.prune(1200), 64u);  // compaction keeps them too
    EXPECT_TRUE(cache.contains(key(0), 1050));
    cache.keep_live_at(INT64_MAX);  // each caller's clock again
    EXPECT_EQ(cache.insert(key(100), 1200), Insert::added);
}

TEST(ReplayCacheTable, AnUntouchedTableCostsNoResidentMemory) {
    auto resident_kb = [] {
        std::ifstream f("/proc/self/status");
        std::string line;
        while (std::getline(f, line))
            if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
        return 0L;
    };
    long before = resident_kb();
    ReplayCache cache("", 240, 1u << 20);  // 80 MiB of slots reserved
    EXPECT_GE(cache.reserved_bytes(), 80u << 20);
    EXPECT_EQ(cache.prune(time(nullptr)), 0u);  // a sweep reads every slot, writes none
    EXPECT_LT(resident_kb() - before, 4096) << "KiB made resident by an empty cache";
}

// The daemon's clock guard: a wall clock stepped ahead (and later back) drops nothing early;
// a step that stays for a whole retention is taken, so the cache never holds on for good.
TEST(ReplayCacheClock, AWallClockSteppedAheadDropsNothingBeforeItsTime) {
    ReplayCache cache("", 240);
    cache.guard_clock_steps();
    int64_t now = time(nullptr);
    ASSERT_EQ(cache.insert(digest(1), now), Insert::added);
    EXPECT_EQ(cache.prune(now + 3600), 1u);           // +1 h: kept
    EXPECT_TRUE(cache.contains(digest(1), now + 5));  // stepped back: still a replay
    EXPECT_EQ(cache.insert(digest(1), now + 5), Insert::present);
}

TEST(ReplayCacheClock, AStepThatStaysAWholeRetentionIsTaken) {
    ReplayCache cache("", 1);  // a retention of 1 s: the test waits it out
    cache.guard_clock_steps();
    int64_t now = time(nullptr);
    ASSERT_EQ(cache.insert(digest(1), now), Insert::added);
    EXPECT_EQ(cache.prune(now + 3600), 1u);  // ahead since now: held
    usleep(1100 * 1000);
    EXPECT_EQ(cache.prune(now + 3601), 0u);  // ahead a whole retention: the step stands
}

TEST(ReplayCacheClock, WithoutTheGuardTheCallersClockDecides) {
    ReplayCache cache("", 240);  // dry runs, tests: capture times, not the wall clock
    int64_t now = time(nullptr);
    ASSERT_EQ(cache.insert(digest(1), now), Insert::added);
    EXPECT_EQ(cache.prune(now + 3600), 0u);
}

// A state_dir that cannot be written at start: the daemon still starts (its gates gate, plain
// knocks are judged), the journal's digests are loaded, fko knocks are refused until a prune
// can write the journal, and that is said once.
TEST(ReplayJournal, AnUnwritableStateDirAtStartRefusesKnocksUntilWritable) {
    if (geteuid() == 0) {
        // root writes through a mode: make the folder really read-only with a bind mount.
        TinyTmpfs fs;
        if (!fs.mounted()) GTEST_SKIP() << "needs a private mount namespace";
        std::string path = fs.file("replay.journal");
        int64_t now = time(nullptr);
        { ReplayCache(path, 240).insert(digest(1), now); }
        std::string dir = std::filesystem::path(path).parent_path();
        ASSERT_EQ(mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr), 0);
        ASSERT_EQ(mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
                  0);
        testing::internal::CaptureStderr();
        {
            ReplayCache cache(path, 240);
            EXPECT_TRUE(cache.contains(digest(1), now));  // loaded
            EXPECT_EQ(cache.insert(digest(2), now), Insert::journal_error);
            EXPECT_EQ(cache.insert(digest(3), now), Insert::journal_error);
            EXPECT_EQ(cache.insert(digest(2), now), Insert::present);  // never accepted later
            EXPECT_THROW(cache.prune(now), std::runtime_error);
            ASSERT_EQ(umount2(dir.c_str(), 0), 0);  // writable again
            EXPECT_EQ(cache.prune(now), 3u);
            EXPECT_EQ(cache.insert(digest(4), now), Insert::added);
        }
        std::string log = testing::internal::GetCapturedStderr();
        EXPECT_EQ(count(log, "journal_error"), 1u) << log;
        EXPECT_EQ(count(log, "(state_dir)"), 1u) << log;
        ReplayCache again(path, 240);
        EXPECT_TRUE(again.contains(digest(4), now));
        return;
    }
    GTEST_SKIP() << "needs root for a read-only bind mount";
}
