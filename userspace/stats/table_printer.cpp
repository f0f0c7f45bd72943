#include "stats/table_printer.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <numeric>

namespace xk::stats {
namespace {

using H = workers::LatencyHistogram;

[[gnu::format(printf, 2, 3)]] void add(std::string &out, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) out.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

unsigned long long ull(uint64_t v) {
    return v;
}

// By name, four to a line: an admin looks a counter up, the enum order means nothing.
void add_counters(std::string &out, const gate::Counters &c) {
    std::array<unsigned, XK_CNT__MAX> order;
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [](unsigned a, unsigned b) {
        return std::string_view(gate::counter_name(a)) < gate::counter_name(b);
    });
    out += "  counters:";
    int col = 0;
    for (unsigned i : order)
        add(out, "%s %s=%llu", col++ % 4 == 0 ? "\n   " : "", gate::counter_name(i), ull(c[i]));
    out += "\n";
}

// ring_full: knocks XDP redirected but the queue's socket had no room (back-pressure).
void add_pipeline(std::string &out, const Pipeline &p) {
    for (const Queue &q : p.queues) {
        add(out, "  queue %u: workers=%u frames=%llu accepted=%llu ring_full=%llu rx_dropped=%llu",
            q.queue, q.workers, ull(q.frames), ull(q.accepted), ull(q.ring_full),
            ull(q.rx_dropped));
        if (latency_count(q.latency) > 0) {
            add(out, " knock->authorized p50=%.1fus p99=%.1fus",
                static_cast<double>(H::quantile_ns(q.latency, 0.50)) / 1000.0,
                static_cast<double>(H::quantile_ns(q.latency, 0.99)) / 1000.0);
        }
        out += "\n";
    }
    out += "  workers (cpu/queue, + = fed by the poller):";
    for (const Worker &w : p.workers) add(out, " %u%sq%u", w.cpu, w.poller ? "/" : "+", w.queue);
    out += "\n";
    if (p.http)
        add(out, "  http knocks: requests=%llu accepted=%llu not_knock=%llu\n", ull(p.http->frames),
            ull(p.http->accepted), ull(p.http->not_knock));
}

void add_interface(std::string &out, const Interface &i) {
    if (i.mode == "nftables") {
        add(out, "%s  gate: nftables (table inet xdpknock)\n", i.name.c_str());
    } else {
        add(out, "%s  xdp: %s\n", i.name.c_str(), (i.xdp.empty() ? i.mode : i.xdp).c_str());
    }
    if (i.counters) add_counters(out, *i.counters);
    if (i.pipeline) add_pipeline(out, *i.pipeline);
    for (const Range &r : i.ranges ? *i.ranges : std::vector<Range>{}) {
        add(out, "  range %s: sources=%u/%u", r.name.c_str(), r.sources, r.max_sources);
        for (const auto &[label, n] : r.accepted) add(out, " %s=%llu", label.c_str(), ull(n));
        if (r.range_full || r.map_full)
            add(out, " refused: range_full=%llu map_full=%llu", ull(r.range_full), ull(r.map_full));
        out += "\n";
    }
    const size_t n = i.authorized ? i.authorized->size() : 0;
    add(out, "  authorized: %zu\n", n);
    for (size_t k = 0; k < n; ++k) {
        const Authorization &a = (*i.authorized)[k];
        add(out, "    %-40s %-9s %5llds left\n", policy::format_address(a.source).c_str(),
            policy::format_port(a.port).c_str(), static_cast<long long>(a.seconds_left));
    }
}

// Awake / asleep as last probed, and the last wake with what asked for it.
void add_hosts(std::string &out, const std::vector<wake::HostStatus> &hosts) {
    out += "hosts:\n";
    for (const auto &h : hosts) {
        add(out, "  %-16s %s on %-8s %-7s wakes=%llu already_awake=%llu\n", h.name.c_str(),
            h.mac.c_str(), h.interface.c_str(), h.state.c_str(), ull(h.wakes),
            ull(h.already_awake));
        if (!h.last_wake) continue;
        const wake::LastWake &w = *h.last_wake;
        time_t at = w.at;
        tm local{};
        char when[32];
        strftime(when, sizeof(when), "%F %T", localtime_r(&at, &local));
        add(out, "    last wake %s: %s after %llu ms, %u magic packet(s); ", when, w.result.c_str(),
            ull(w.ms), w.magic_packets);
        out += w.trigger + "\n";  // free text: no fixed buffer
    }
}

}  // namespace

// Connected or since when not, what it sent and got, how fast the others' grants arrive.
void add_cluster(std::string &out, const ClusterState &c) {
    std::string peers;
    for (const auto &p : c.peers) peers += (peers.empty() ? "" : " ") + p;
    add(out, "cluster: node %s, Redis %s: %s\n", c.node.c_str(), c.redis.c_str(),
        c.connected ? "connected" : "NOT connected (this gateway judges alone)");
    add(out, "  peers seen: %s\n", peers.empty() ? "none" : peers.c_str());
    add(out,
        "  published=%llu queued=%llu dropped=%llu applied=%llu outages=%llu "
        "replay_remote=%llu replay_local_only=%llu\n",
        ull(c.published), ull(c.queued), ull(c.dropped), ull(c.applied), ull(c.outages),
        ull(c.replay_remote), ull(c.replay_local_only));
    if (c.lag_samples) {
        add(out, "  lag (knock at a peer -> map here): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
            c.lag_p50_us / 1000.0, c.lag_p99_us / 1000.0, c.lag_max_us / 1000.0);
    }
}

std::string to_table(const Snapshot &s) {
    std::string out;
    for (const Interface &i : s.interfaces) add_interface(out, i);
    if (s.hosts) add_hosts(out, *s.hosts);
    if (s.cluster) add_cluster(out, *s.cluster);
    return out;
}

}  // namespace xk::stats
