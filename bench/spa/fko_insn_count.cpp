// Fixed-iteration driver for callgrind: `spa_fko_insn MODE N` runs N packets of one loop and
// nothing else, so (Ir(N) - Ir(0)) / N is the instructions per packet, free of timer noise.
// MODE: decode | floor | hmacfail | floorhmacfail | replay.
//
// `spa_fko_insn pair N ROUNDS`: the accepted decode and its crypto floor timed in turns, N
// packets each per round, on this thread's CPU clock (time spent descheduled by other jobs
// does not count), and the median of the per-round ratios: the two loops see the same machine.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "fko_bench_common.hpp"
#include "spa/replay_digest.hpp"

using namespace xk::spa;
using namespace xk::spa::bench;

namespace {

double thread_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int pair(FkoKeyContext &kc, const FkoSecret &s, long n, long rounds) {
    auto pkts = make_packets(kc, false);
    auto prep = prepare(pkts, kc);
    Floor f(s);
    FloorOut o;
    FkoMessage m;
    std::vector<double> dec, flo, ratio;
    for (long r = 0; r < rounds; ++r) {
        double t0 = thread_ns();
        for (long i = 0; i < n; ++i)
            if (fko_decode(kc, bytes(pkts[i % kPackets]), m) != Reject::ok) return 1;
        double t1 = thread_ns();
        for (long i = 0; i < n; ++i) floor_accepted(f, prep[i % kPackets], o);
        double t2 = thread_ns();
        dec.push_back((t1 - t0) / static_cast<double>(n));
        flo.push_back((t2 - t1) / static_cast<double>(n));
        ratio.push_back((t1 - t0) / (t2 - t1));
    }
    std::printf(
        "{\"decode_ns\": %.1f, \"floor_ns\": %.1f, \"ratio\": %.3f, \"rounds\": %ld, "
        "\"packets_per_round\": %ld, \"sink\": %u}\n",
        median(dec), median(flo), median(ratio), rounds, n, unsigned(o.dg[0] ^ m.port_count));
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc == 4 && std::string_view(argv[1]) == "pair") {
        std::string err;
        const FkoSecret s = bench_secret();
        auto kc = FkoKeyContext::create(s, err);
        return kc ? pair(*kc, s, std::atol(argv[2]), std::atol(argv[3])) : 1;
    }
    if (argc != 3) {
        std::fprintf(stderr,
                     "usage: %s decode|floor|hmacfail|floorhmacfail|replay N\n"
                     "       %s pair N ROUNDS\n",
                     argv[0], argv[0]);
        return 2;
    }
    const std::string_view mode = argv[1];
    const long n = std::atol(argv[2]);
    const FkoSecret s = bench_secret();
    std::string err;
    auto kc = FkoKeyContext::create(s, err);
    if (!kc) return 1;
    const bool fail = mode == "hmacfail" || mode == "floorhmacfail";
    auto pkts = make_packets(*kc, fail);
    unsigned sink = 0;
    if (mode == "decode" || mode == "hmacfail") {
        const Reject want = fail ? Reject::hmac_mismatch : Reject::ok;
        FkoMessage m;
        for (long i = 0; i < n; ++i)
            if (fko_decode(*kc, bytes(pkts[i % kPackets]), m) != want) return 1;
        sink = m.port_count;
    } else if (mode == "floor") {
        auto prep = prepare(pkts, *kc);
        Floor f(s);
        FloorOut o;
        for (long i = 0; i < n; ++i) floor_accepted(f, prep[i % kPackets], o);
        sink = o.dg[0] ^ o.mac[0] ^ o.pt[0];
    } else if (mode == "floorhmacfail") {
        std::vector<std::string> bodies;
        for (const auto &p : pkts) bodies.push_back(p.substr(0, p.size() - kc->hmac_b64_len()));
        Floor f(s);
        uint8_t mac[64] = {};
        for (long i = 0; i < n; ++i) f.hmac(bodies[i % kPackets], mac);
        sink = mac[0];
    } else if (mode == "replay") {
        ReplayDigester rd;
        ReplayDigest d{};
        for (long i = 0; i < n; ++i) rd.digest(bytes(pkts[i % kPackets]), d);
        sink = d[0];
    } else {
        return 2;
    }
    std::printf("%s %ld done (%u)\n", argv[1], n, sink);
    return 0;
}
