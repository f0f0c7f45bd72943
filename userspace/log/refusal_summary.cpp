#include "log/refusal_summary.hpp"

#include <algorithm>
#include <vector>

#include "log/clock.hpp"
#include "log/log.hpp"

namespace xk::log {
namespace {
std::atomic<size_t> g_next_shard{0};
}  // namespace

void RefusalSummary::bump(spa::Reject reason) noexcept {
    const auto i = static_cast<size_t>(reason);
    if (i == 0 || i >= spa::kRejectCount) return;  // ok is no refusal
    thread_local const size_t shard = g_next_shard.fetch_add(1, std::memory_order_relaxed);
    shards_[shard % kShards].n[i].fetch_add(1, std::memory_order_relaxed);
}

RefusalCounts RefusalSummary::take() noexcept {
    RefusalCounts sum{};
    for (auto &s : shards_)
        for (size_t i = 0; i < spa::kRejectCount; ++i)
            sum[i] += s.n[i].exchange(0, std::memory_order_relaxed);
    return sum;
}

std::string RefusalSummary::flush(int64_t now_s) {
    if (interval_start_s_ == INT64_MIN) interval_start_s_ = now_s;
    const int64_t elapsed = now_s - interval_start_s_;
    if (elapsed < kInterval_s) return "";
    interval_start_s_ = now_s;
    std::string line = describe_refusals(take(), elapsed);
    if (!line.empty()) XK_INFO("%s", line.c_str());
    return line;
}

std::string RefusalSummary::flush() {
    return flush(static_cast<int64_t>(monotonic_ns() / 1000000000ull));
}

std::string describe_refusals(const RefusalCounts &counts, int64_t seconds) {
    std::vector<size_t> seen;
    for (size_t i = 0; i < counts.size(); ++i)
        if (counts[i] != 0) seen.push_back(i);
    if (seen.empty()) return "";
    std::stable_sort(seen.begin(), seen.end(),
                     [&](size_t a, size_t b) { return counts[a] > counts[b]; });
    std::string line = "refused knocks in the last " + std::to_string(seconds) + " s:";
    for (size_t k = 0; k < seen.size(); ++k) {
        line += k == 0 ? " " : ", ";
        line += spa::reject_name(static_cast<spa::Reject>(seen[k]));
        line += " " + std::to_string(counts[seen[k]]);
    }
    return line;
}

RefusalSummary &refusals() {
    static RefusalSummary summary;
    return summary;
}

}  // namespace xk::log
