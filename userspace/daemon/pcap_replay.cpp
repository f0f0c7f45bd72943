#include "daemon/pcap_replay.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <thread>
#include <vector>

#include "auth/memory_store.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "workers/knock_handler.hpp"
#include "xdpknock/parse.h"

// N workers, the output of one. The capture is read in chunks; each chunk's frames are split
// into parts by the first bytes of their UDP payload, and the workers take whole parts, each
// part judged in capture order by one worker; a chunk is judged whole before the next starts.
// Every worker has its own KnockPolicy and KnockHandler (as a live worker has) over one shared
// replay cache. What could make N workers differ from one:
// - Two knocks with one replay key judged at once by two workers (the first insert wins, not
//   the first frame): a wire and its resends share their first bytes, so share a part, so are
//   judged in order by one worker. So do the spellings a keyless sender can make of one
//   message without HMAC (the last, all-padding block cut off: same salt, same first bytes).
//   Only a key holder could re-encrypt one message under a new salt (a new part).
// - A worker ahead in capture time dropping a cache entry another still needs: within a chunk
//   the cache keeps everything live at the chunk's earliest time (ReplayCache::keep_live_at),
//   for one worker and N alike.
// - Grants (the store's quotas and expiries) and output: the verdicts are kept per frame and
//   the caller's thread applies and prints them in capture order, while the next chunk is
//   judged.
// So verdicts, lines and counters match one worker, except that when the replay cache is
// full, which knocks find it full depends on arrival order — as between live workers.

namespace xk::daemon {
namespace {

using nlohmann::json;

constexpr size_t kChunkFrames = 2048;
constexpr size_t kChunkBytes = 4u << 20;
constexpr size_t kParts = 16;      // per chunk: what the workers share out
constexpr size_t kLeadBytes = 16;  // of the payload: an fko knock's salt, a plain knock's secret

struct Frame {
    size_t off;  // in Chunk::bytes
    uint32_t len;
    int64_t ts_s;
    uint64_t ts_ns;
};

// One frame's verdict as the handler left it, applied and printed later in capture order.
// A grant keeps what the store needs; its ports inline (a Decision has room for 128, a knock
// names one or two), the rare longer list in `more`.
struct Outcome {
    enum class Kind : uint8_t { none, grant, refuse };
    Kind kind = Kind::none;
    policy::Address source;
    uint32_t range_id = 0, secret_id = 0, timeout_s = 0, nports = 0;
    std::array<policy::PortRef, 6> ports;
    std::vector<policy::PortRef> more;
    std::string line;  // its JSON line (unless quiet), made by the worker

    std::span<const policy::PortRef> grant() const {
        return nports <= ports.size() ? std::span<const policy::PortRef>(ports.data(), nports)
                                      : std::span<const policy::PortRef>(more);
    }
};

struct Chunk {
    uint64_t first = 0;            // frames before this chunk
    int64_t earliest = INT64_MAX;  // capture second of its earliest frame
    std::vector<Frame> frames;
    std::vector<uint8_t> bytes;
    std::vector<Outcome> outcomes;
    std::array<std::vector<uint32_t>, kParts> parts;  // frame indexes, in capture order
};

// Frames that must keep their order share a part: the same lead bytes of a payload (a
// knock's, whatever its transport).
size_t part_of(const uint8_t *data, uint32_t len) {
    xk_pkt pkt{};
    if (xk_parse_frame(data, data + len, &pkt, 0) != XK_PARSE_OK) return 0;
    const uint8_t *p = data + pkt.payload_off;
    uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (size_t i = 0; i < std::min<size_t>(pkt.payload_len, kLeadBytes); ++i)
        h = (h ^ p[i]) * 1099511628211ull;
    return static_cast<size_t>(h % kParts);
}

// Reads the next chunk; false at the end of the capture.
bool read_chunk(pcap_t *pcap, Chunk &c, uint64_t first) {
    c.first = first;
    c.earliest = INT64_MAX;
    c.frames.clear();
    c.bytes.clear();
    for (auto &p : c.parts) p.clear();
    pcap_pkthdr *hdr = nullptr;
    const u_char *data = nullptr;
    while (c.frames.size() < kChunkFrames && c.bytes.size() < kChunkBytes &&
           pcap_next_ex(pcap, &hdr, &data) == 1) {
        int64_t s = hdr->ts.tv_sec;
        c.frames.push_back({c.bytes.size(), hdr->caplen, s,
                            uint64_t(s) * 1000000000ull + uint64_t(hdr->ts.tv_usec) * 1000});
        c.bytes.insert(c.bytes.end(), data, data + hdr->caplen);
        c.earliest = std::min(c.earliest, s);
    }
    if (c.outcomes.size() < c.frames.size()) c.outcomes.resize(c.frames.size());
    for (uint32_t i = 0; i < c.frames.size(); ++i) {
        const Frame &f = c.frames[i];
        c.parts[part_of(c.bytes.data() + f.off, f.len)].push_back(i);
    }
    return !c.frames.empty();
}

std::string format_line(const policy::Config &config, uint64_t frame, const policy::Knock &k,
                        const policy::Decision &d) {
    json j = {{"frame", frame},
              {"time", k.now},
              {"source", policy::format_address(k.source)},
              {"port", k.port},
              {"accepted", d.accepted()},
              {"reason", spa::reject_name(d.reason)}};
    if (d.accepted()) {
        const policy::Range &r = config.ranges[d.range_id];
        j["range"] = r.name;
        j["secret"] = r.secrets[d.secret_id].label;
        j["timeout"] = d.timeout_s;
        for (const auto &p : d.grant()) j["grant"].push_back(policy::format_port(p));
    }
    if (d.fko) {
        j["username"] = std::string(d.fko->user.view());
        j["message_type"] = static_cast<int>(d.fko->type);
        j["message"] = std::string(d.fko->message.view());
    }
    return j.dump();
}

// Keeps each decision for the caller's thread: a grant is "ok" here and applied to the store
// later, in capture order (a refusal there is counted then).
class DeferSink : public workers::GrantSink {
  public:
    DeferSink(const policy::Config &config, bool quiet) : config_(config), quiet_(quiet) {}
    void bind(Outcome &o, uint64_t frame) {
        out_ = &o;
        frame_ = frame;
    }
    spa::Reject grant(const policy::Knock &k, const policy::Decision &d) override {
        keep(Outcome::Kind::grant, k, d);
        return spa::Reject::ok;
    }
    void refuse(const policy::Knock &k, const policy::Decision &d) override {
        keep(Outcome::Kind::refuse, k, d);
    }

  private:
    void keep(Outcome::Kind kind, const policy::Knock &k, const policy::Decision &d) {
        Outcome &o = *out_;
        o.kind = kind;
        o.source = k.source;
        o.range_id = d.range_id;
        o.secret_id = d.secret_id;
        o.timeout_s = d.timeout_s;
        const std::span<const policy::PortRef> g = d.grant();
        o.nports = static_cast<uint32_t>(g.size());
        if (g.size() <= o.ports.size())
            std::copy(g.begin(), g.end(), o.ports.begin());
        else
            o.more.assign(g.begin(), g.end());  // a dry run may allocate for a long list
        if (!quiet_) o.line = format_line(config_, frame_, k, d);
    }

    const policy::Config &config_;
    bool quiet_;
    Outcome *out_ = nullptr;
    uint64_t frame_ = 0;
};

// One worker: the same policy and handler a live worker builds.
struct Judge {
    Judge(const policy::Config &config, policy::ReplayCache &replay, bool quiet)
        : policy(config, &replay), sink(config, quiet), handler(policy, sink, stats) {}

    void judge_part(Chunk &c, size_t part) {
        for (uint32_t i : c.parts[part]) {
            const Frame &f = c.frames[i];
            c.outcomes[i].kind = Outcome::Kind::none;
            sink.bind(c.outcomes[i], c.first + i + 1);
            handler.handle_frame(c.bytes.data() + f.off, f.len, f.ts_s);
        }
    }

    policy::KnockPolicy policy;
    DeferSink sink;
    workers::HandlerStats stats;
    workers::KnockHandler handler;
};

// The workers beyond the caller's thread. A ticket (generation << 32 | next part) hands out
// the current chunk's parts; the caller takes parts too once its own work is done.
class Crew {
  public:
    explicit Crew(std::vector<std::unique_ptr<Judge>> &judges) : judges_(judges) {
        for (size_t j = 1; j < judges_.size(); ++j) threads_.emplace_back([this, j] { helper(j); });
    }
    ~Crew() {
        stop_.store(true);
        ticket_.fetch_add(uint64_t{1} << 32);
        ticket_.notify_all();
        for (auto &t : threads_) t.join();
    }

    void start(Chunk &c) {
        chunk_ = &c;
        done_.store(0, std::memory_order_relaxed);
        gen_ += 1;
        ticket_.store(gen_ << 32, std::memory_order_release);
        ticket_.notify_all();
    }
    // The caller's share, then the wait for the rest.
    void finish() {
        uint64_t t = ticket_.load(std::memory_order_acquire);
        while (take_part(*judges_[0], t)) {
        }
        for (size_t d = done_.load(std::memory_order_acquire); d != kParts;
             d = done_.load(std::memory_order_acquire))
            done_.wait(d, std::memory_order_acquire);
    }

  private:
    void helper(size_t j) {
        for (;;) {
            uint64_t t = ticket_.load(std::memory_order_acquire);
            if (stop_.load(std::memory_order_relaxed)) return;
            if (!take_part(*judges_[j], t)) ticket_.wait(t, std::memory_order_acquire);
        }
    }
    // Takes and judges one part of the chunk ticket t belongs to; false when none is left.
    bool take_part(Judge &judge, uint64_t &t) {
        while ((t & 0xffffffffu) < kParts) {
            if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
            judge.judge_part(*chunk_, t & 0xffffffffu);
            if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == kParts) done_.notify_all();
            return true;
        }
        return false;
    }

    std::vector<std::unique_ptr<Judge>> &judges_;
    std::vector<std::thread> threads_;
    std::atomic<uint64_t> ticket_{kParts};  // nothing to take before start()
    std::atomic<size_t> done_{0};
    std::atomic<bool> stop_{false};
    uint64_t gen_ = 0;
    Chunk *chunk_ = nullptr;
};

// Applies a judged chunk in capture order: grants to the store on the capture's clock, lines.
struct Ledger {
    auth::MemoryStore &store;
    uint64_t &capture_ns;
    FILE *out;
    bool quiet;
    uint64_t refused_at_grant = 0;

    void apply(const Chunk &c) {
        for (size_t i = 0; i < c.frames.size(); ++i) {
            const Outcome &o = c.outcomes[i];
            capture_ns = c.frames[i].ts_ns;
            if (o.kind == Outcome::Kind::grant &&
                store.grant(o.source, o.grant(), o.timeout_s, o.range_id, o.secret_id) != 0)
                ++refused_at_grant;
            if (o.kind != Outcome::Kind::none && !quiet) {
                fputs(o.line.c_str(), out);
                fputc('\n', out);
            }
        }
    }
};

json summary(const std::vector<std::unique_ptr<Judge>> &judges, const Ledger &ledger,
             uint64_t authorized, double seconds) {
    uint64_t frames = 0, not_knock = 0, accepted = 0;
    std::array<uint64_t, spa::kRejectCount> rejected{};
    for (const auto &j : judges) {
        frames += j->stats.frames.load();
        not_knock += j->stats.not_knock.load();
        accepted += j->stats.accepted.load();
        for (size_t r = 0; r < spa::kRejectCount; ++r) rejected[r] += j->stats.rejected[r].load();
    }
    accepted -= ledger.refused_at_grant;  // "ok" to the handler, then refused by the store
    rejected[static_cast<size_t>(spa::Reject::map_full)] += ledger.refused_at_grant;
    json by_reason = json::object();
    for (size_t r = 0; r < spa::kRejectCount; ++r) {
        if (rejected[r]) by_reason[spa::reject_name(static_cast<spa::Reject>(r))] = rejected[r];
    }
    uint64_t knocks = frames - not_knock;
    return {{"frames", frames},
            {"knocks", knocks},
            {"accepted", accepted},
            {"authorized_at_end", authorized},
            {"rejected", by_reason},
            {"seconds", seconds},
            {"knocks_per_second", seconds > 0 ? static_cast<double>(knocks) / seconds : 0}};
}

// The capture through a FILE with a 1 MiB buffer: libpcap's own reads it 4 KiB a syscall,
// which the reading thread (also the one applying verdicts) would feel.
pcap_t *open_capture(const std::string &path, std::unique_ptr<char[]> &buffer) {
    constexpr size_t kReadBuffer = 1u << 20;
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) {
        fprintf(stderr, "xdpknockd: %s: %s\n", path.c_str(), strerror(errno));
        return nullptr;
    }
    buffer = std::make_unique<char[]>(kReadBuffer);
    setvbuf(f, buffer.get(), _IOFBF, kReadBuffer);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t *pcap = pcap_fopen_offline(f, errbuf);  // owns f from here, even on failure
    if (!pcap) {
        fprintf(stderr, "xdpknockd: %s: %s\n", path.c_str(), errbuf);
        return nullptr;
    }
    if (pcap_datalink(pcap) != DLT_EN10MB) {
        fprintf(stderr, "xdpknockd: %s: not an Ethernet capture\n", path.c_str());
        pcap_close(pcap);
        return nullptr;
    }
    return pcap;
}

}  // namespace

// Chunk c is judged by the crew while this thread applies c-1 and reads c+1.
int replay_pcap(const policy::Config &config, const PcapReplayOptions &options) {
    std::unique_ptr<char[]> read_buffer;  // outlives pcap_close, which closes its FILE
    pcap_t *pcap = open_capture(options.path, read_buffer);
    if (!pcap) return 1;
    policy::ReplayCache replay("", policy::KnockPolicy::replay_retention(config),
                               config.replay_capacity);
    uint64_t capture_ns = 0;  // the store's clock: the capture time of the frame applied
    auth::MemoryStore store([&] { return capture_ns; });
    std::vector<std::unique_ptr<Judge>> judges;
    for (unsigned w = 0; w < std::max(options.workers, 1u); ++w)
        judges.push_back(std::make_unique<Judge>(config, replay, options.quiet));
    Ledger ledger{store, capture_ns, options.out, options.quiet};

    auto start = std::chrono::steady_clock::now();
    {
        Crew crew(judges);
        std::array<Chunk, 3> ring;
        bool more = read_chunk(pcap, ring[0], 0);
        for (size_t c = 0; more; ++c) {
            Chunk &now = ring[c % 3], &next = ring[(c + 1) % 3];
            replay.keep_live_at(now.earliest);
            crew.start(now);
            if (c > 0) ledger.apply(ring[(c + 2) % 3]);
            more = read_chunk(pcap, next, now.first + now.frames.size());
            crew.finish();
            if (!more) ledger.apply(now);
        }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    pcap_close(pcap);
    json s = summary(judges, ledger, store.count(capture_ns), seconds);
    fprintf(options.out, "%s\n", json{{"summary", s}}.dump().c_str());
    return 0;
}

}  // namespace xk::daemon
