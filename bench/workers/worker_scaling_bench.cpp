// Validations per second with 1 and 2 worker threads fed from memory: each thread owns a
// KnockPolicy (shared Config and ReplayCache, as WorkerPool builds them) and runs
// KnockHandler::handle_frame over its own pre-built Ethernet frames. Every frame is used once
// per run (fresh ReplayCache per run) so the replay cache never refuses a valid knock.
//
//   worker_scaling_bench [--frames N] [--runs R] [--mix valid|half] [--journal DIR] [--json FILE]
//
// --mix half: every other frame carries a broken HMAC. --journal: the replay cache appends to
// a journal file in DIR as the daemon's does (otherwise in memory only).
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/packet_builder.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "spa/fko_encode.hpp"
#include "workers/knock_handler.hpp"

using namespace xk;

namespace {

constexpr int64_t kNow = 1700000000;
constexpr uint16_t kPort = 62201;

struct NoopSink : workers::GrantSink {
    spa::Reject grant(const policy::Knock &, const policy::Decision &) override {
        return spa::Reject::ok;
    }
};

policy::Config make_config() {
    policy::Config c;
    policy::Range r;
    r.name = "bench";
    r.method = policy::Method::fko;
    r.port = kPort;
    r.sources = {*policy::parse_cidr("0.0.0.0/0")};
    r.open = {policy::parse_port_ref("tcp/22")};
    policy::Secret s;
    s.label = "k";
    s.fko.key = spa::secret_from_passphrase("benchmark-rijndael-key-32bytes!!");
    s.fko.hmac = spa::HmacType::sha256;
    s.fko.hmac_key =
        spa::secret_from_passphrase("benchmark-hmac-key-benchmark-hmac-key-benchmark-hmac-key");
    r.secrets.push_back(std::move(s));
    c.ranges.push_back(std::move(r));
    return c;
}

// Frames for worker `w`: distinct sources 10.w.x.y; every knock distinct (own random, own
// source), so each has its own replay digest.
std::vector<test::Bytes> make_frames(const policy::Config &c, unsigned w, size_t n, bool half) {
    std::string err;
    auto kc = spa::FkoKeyContext::create(c.ranges[0].secrets[0].fko, err);
    if (!kc) {
        std::fprintf(stderr, "%s\n", err.c_str());
        std::abort();
    }
    std::vector<test::Bytes> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const std::string src = "10." + std::to_string(w) + "." + std::to_string((i >> 8) & 255) +
                                "." + std::to_string(i & 255);
        spa::FkoRequest req;
        req.timestamp = kNow;
        const std::string msg = src + ",tcp/22";  // FkoRequest holds views
        req.message = msg;
        std::array<char, spa::kMaxEncoded> buf;
        size_t len = 0;
        if (spa::Reject e = spa::fko_encode(*kc, req, buf, len); e != spa::Reject::ok) {
            std::fprintf(stderr, "encode: %s\n", spa::reject_name(e));
            std::abort();
        }
        if (half && (i & 1)) buf[len - 5] = buf[len - 5] == 'A' ? 'B' : 'A';
        out.push_back(test::PacketBuilder()
                          .eth()
                          .ipv4(src, "192.0.2.1")
                          .udp(static_cast<uint16_t>(40000 + (i & 1023)), kPort)
                          .payload(std::string_view(buf.data(), len))
                          .build());
    }
    return out;
}

void pin(unsigned cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

double thread_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct RunResult {
    double seconds;  // wall: first start to last finish
    // Sum over threads of frames / own CPU seconds: what the threads could do with the cores
    // to themselves. On a shared machine other jobs steal wall time; contention (cache-line
    // bouncing, lock spinning, syscalls) still shows here as more CPU per frame.
    double cpu_rate;
    uint64_t accepted, refused;
};

RunResult run(const policy::Config &c, const std::vector<std::vector<test::Bytes>> &frames,
              unsigned nthreads, const std::string &journal) {
    if (!journal.empty()) unlink(journal.c_str());
    policy::ReplayCache replay(journal, policy::KnockPolicy::replay_retention(c));
    NoopSink sink;
    std::vector<std::unique_ptr<workers::HandlerStats>> stats;
    std::vector<std::unique_ptr<policy::KnockPolicy>> policies;
    for (unsigned t = 0; t < nthreads; ++t) {
        stats.push_back(std::make_unique<workers::HandlerStats>());
        policies.push_back(std::make_unique<policy::KnockPolicy>(c, &replay));
    }
    std::atomic<unsigned> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::chrono::steady_clock::time_point> ends(nthreads);
    std::vector<double> cpu(nthreads);
    std::chrono::steady_clock::time_point start;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < nthreads; ++t) {
        threads.emplace_back([&, t] {
            pin(t);
            workers::KnockHandler h(*policies[t], sink, *stats[t]);
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) {
            }
            const double c0 = thread_cpu_seconds();
            for (const auto &f : frames[t])
                h.handle_frame(f.data(), static_cast<uint32_t>(f.size()), kNow);
            ends[t] = std::chrono::steady_clock::now();
            cpu[t] = thread_cpu_seconds() - c0;
        });
    }
    while (ready.load() != nthreads) {
    }
    start = std::chrono::steady_clock::now();
    go.store(true, std::memory_order_release);
    for (auto &th : threads) th.join();
    RunResult r{0, 0, 0, 0};
    for (unsigned t = 0; t < nthreads; ++t) {
        r.seconds = std::max(r.seconds, std::chrono::duration<double>(ends[t] - start).count());
        r.cpu_rate += static_cast<double>(frames[t].size()) / cpu[t];
        r.accepted += stats[t]->accepted.load();
        uint64_t refused = 0;
        for (auto &x : stats[t]->rejected) refused += x.load();
        r.refused += refused;
    }
    return r;
}

}  // namespace

int main(int argc, char **argv) {
    size_t frames_per_thread = 20000;
    int runs = 7;
    bool half = false;
    std::string journal_dir, json_path;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--frames")
            frames_per_thread = std::strtoul(argv[i + 1], nullptr, 10);
        else if (a == "--runs")
            runs = std::atoi(argv[i + 1]);
        else if (a == "--mix")
            half = std::string(argv[i + 1]) == "half";
        else if (a == "--journal")
            journal_dir = argv[i + 1];
        else if (a == "--json")
            json_path = argv[i + 1];
    }
    const std::string journal = journal_dir.empty() ? "" : journal_dir + "/replay.journal";
    const policy::Config c = make_config();
    std::vector<std::vector<test::Bytes>> frames;
    for (unsigned w = 0; w < 2; ++w) frames.push_back(make_frames(c, w, frames_per_thread, half));

    // Runs alternate 1 and 2 threads so both see the same machine noise; medians reported.
    std::vector<double> rate[3], cpu_rate[3];
    uint64_t acc[3] = {0, 0, 0};
    for (int r = 0; r < runs; ++r) {
        for (unsigned n : {1u, 2u}) {
            RunResult res = run(c, frames, n, journal);
            const uint64_t total = res.accepted + res.refused;
            if (total != n * frames_per_thread) {
                std::fprintf(stderr, "judged %lu of %lu frames\n", (unsigned long)total,
                             (unsigned long)(n * frames_per_thread));
                return 1;
            }
            const uint64_t want_acc = half ? n * (frames_per_thread / 2) : n * frames_per_thread;
            if (res.accepted != want_acc) {
                std::fprintf(stderr, "accepted %lu, want %lu\n", (unsigned long)res.accepted,
                             (unsigned long)want_acc);
                return 1;
            }
            acc[n] = res.accepted;
            rate[n].push_back(static_cast<double>(total) / res.seconds);
            cpu_rate[n].push_back(res.cpu_rate);
        }
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double r1 = median(rate[1]), r2 = median(rate[2]);
    // Ratio per run pair too: the two halves of a pair saw nearly the same machine.
    std::vector<double> pair_ratio, cpu_pair;
    for (int r = 0; r < runs; ++r) {
        pair_ratio.push_back(rate[2][r] / rate[1][r]);
        cpu_pair.push_back(cpu_rate[2][r] / cpu_rate[1][r]);
    }
    const double pr = median(pair_ratio);
    const double c1 = median(cpu_rate[1]), c2 = median(cpu_rate[2]), cpr = median(cpu_pair);
    std::printf("mix=%s journal=%s frames/thread=%zu runs=%d\n", half ? "half" : "valid",
                journal.empty() ? "none" : "file", frames_per_thread, runs);
    std::printf("1 worker : %.0f validations/s (median)\n", r1);
    std::printf("2 workers: %.0f validations/s (median)\n", r2);
    std::printf("ratio    : %.3f (medians), %.3f (median of per-run pairs)\n", r2 / r1, pr);
    std::printf("per-thread CPU time: 1 worker %.0f/s, 2 workers %.0f/s, ratio %.3f (pairs %.3f)\n",
                c1, c2, c2 / c1, cpr);
    if (!json_path.empty()) {
        FILE *f = std::fopen(json_path.c_str(), "w");
        if (!f) return 1;
        std::fprintf(f,
                     "{\"mix\": \"%s\", \"journal\": %s, \"frames_per_thread\": %zu, \"runs\": %d, "
                     "\"validations_per_s_1\": %.0f, \"validations_per_s_2\": %.0f, "
                     "\"ratio_medians\": %.3f, \"ratio_pairs_median\": %.3f, "
                     "\"cpu_validations_per_s_1\": %.0f, \"cpu_validations_per_s_2\": %.0f, "
                     "\"cpu_ratio_medians\": %.3f, \"cpu_ratio_pairs_median\": %.3f, "
                     "\"accepted_1\": %lu, \"accepted_2\": %lu}\n",
                     half ? "half" : "valid", journal.empty() ? "false" : "true", frames_per_thread,
                     runs, r1, r2, r2 / r1, pr, c1, c2, c2 / c1, cpr, (unsigned long)acc[1],
                     (unsigned long)acc[2]);
        std::fclose(f);
    }
    return 0;
}
