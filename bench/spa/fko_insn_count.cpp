// Fixed-iteration driver for callgrind: `spa_fko_insn MODE N` runs N packets of one loop and
// nothing else, so (Ir(N) - Ir(0)) / N is the instructions per packet, free of timer noise.
// MODE: decode | floor | hmacfail | floorhmacfail | replay.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fko_bench_common.hpp"
#include "spa/replay_digest.hpp"

using namespace xk::spa;
using namespace xk::spa::bench;

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s decode|floor|hmacfail|floorhmacfail|replay N\n", argv[0]);
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
