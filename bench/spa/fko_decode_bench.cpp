// ns per fko decode, each beside a "crypto floor" (fko_bench_common.hpp): the same crypto on the
// same packets with the same objects, and nothing else. The gap is what the codec itself costs.
#include <benchmark/benchmark.h>

#include "fko_bench_common.hpp"
#include "spa/replay_digest.hpp"

using namespace xk::spa;

namespace {

using namespace xk::spa::bench;

void BM_DecodeAccepted(benchmark::State &st) {
    std::string err;
    auto kc = FkoKeyContext::create(bench_secret(), err);
    auto pkts = make_packets(*kc, false);
    FkoMessage m;
    size_t i = 0;
    for (auto _ : st) {
        Reject r = fko_decode(*kc, bytes(pkts[i++ % kPackets]), m);
        if (r != Reject::ok) st.SkipWithError(reject_name(r));
        benchmark::DoNotOptimize(m);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_DecodeAccepted);

void BM_FloorAccepted(benchmark::State &st) {
    std::string err;
    const FkoSecret s = bench_secret();
    auto kc = FkoKeyContext::create(s, err);
    auto prep = prepare(make_packets(*kc, false), *kc);
    Floor f(s);
    FloorOut o;
    size_t i = 0;
    for (auto _ : st) {
        floor_accepted(f, prep[i++ % kPackets], o);
        benchmark::DoNotOptimize(o);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_FloorAccepted);

void BM_DecodeHmacFail(benchmark::State &st) {
    std::string err;
    auto kc = FkoKeyContext::create(bench_secret(), err);
    auto pkts = make_packets(*kc, true);
    FkoMessage m;
    size_t i = 0;
    for (auto _ : st) {
        Reject r = fko_decode(*kc, bytes(pkts[i++ % kPackets]), m);
        if (r != Reject::hmac_mismatch) st.SkipWithError(reject_name(r));
        benchmark::DoNotOptimize(r);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_DecodeHmacFail);

void BM_FloorHmacFail(benchmark::State &st) {
    std::string err;
    const FkoSecret s = bench_secret();
    auto kc = FkoKeyContext::create(s, err);
    auto pkts = make_packets(*kc, true);
    std::vector<std::string> bodies;
    for (const auto &p : pkts) bodies.push_back(p.substr(0, p.size() - kc->hmac_b64_len()));
    Floor f(s);
    size_t i = 0;
    for (auto _ : st) {
        uint8_t mac[64];
        f.hmac(bodies[i++ % kPackets], mac);
        benchmark::DoNotOptimize(mac);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_FloorHmacFail);

void BM_ReplayDigest(benchmark::State &st) {
    std::string err;
    auto kc = FkoKeyContext::create(bench_secret(), err);
    auto pkts = make_packets(*kc, false);
    ReplayDigester rd;
    ReplayDigest d;
    size_t i = 0;
    for (auto _ : st) {
        rd.digest(bytes(pkts[i++ % kPackets]), d);
        benchmark::DoNotOptimize(d);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
}
BENCHMARK(BM_ReplayDigest);

}  // namespace

BENCHMARK_MAIN();
