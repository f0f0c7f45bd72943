#include "stats/prometheus_printer.hpp"

#include <charconv>
#include <cmath>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

namespace xk::stats {
namespace {

using H = workers::LatencyHistogram;
using Labels = std::vector<std::pair<std::string_view, std::string>>;

// Counters stay integers (a double loses them past 2^53); seconds are doubles.
struct Value {
    bool integer = true;
    uint64_t u = 0;
    double d = 0;
    Value() = default;
    Value(uint64_t v) : u(v) {}  // implicit: add(labels, counter) reads naturally
    Value(double v) : integer(false), d(v) {}
    Value &operator+=(const Value &o) {
        if (integer && o.integer) {
            u += o.u;
        } else {
            d = as_double() + o.as_double();
            integer = false;
        }
        return *this;
    }
    double as_double() const { return integer ? static_cast<double>(u) : d; }
};

std::string format_double(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round trip
    return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string format(const Value &v) {
    return v.integer ? std::to_string(v.u) : format_double(v.d);
}

// Label values: backslash, double quote and line feed escaped. HELP: backslash, line feed.
std::string escape(std::string_view s, bool quote) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quote) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
    return out;
}

// One metric family: HELP and TYPE once, then its samples in the order added. A series
// added twice (two config entries with one name) is summed: the format forbids repeats.
class Family {
  public:
    Family(std::string name, std::string_view type, std::string_view help)
        : name_(std::move(name)), type_(type), help_(help) {}

    void add(const Labels &labels, Value v, std::string_view suffix = "") {
        std::string series = name_;
        series += suffix;
        if (!labels.empty()) {
            series += '{';
            for (size_t i = 0; i < labels.size(); ++i) {
                if (i) series += ',';
                series += labels[i].first;
                series += "=\"" + escape(labels[i].second, true) + '"';
            }
            series += '}';
        }
        auto [it, added] = index_.try_emplace(series, samples_.size());
        if (added) {
            samples_.emplace_back(std::move(series), v);
        } else {
            samples_[it->second].second += v;
        }
    }

    void write(std::string &out) const {
        if (samples_.empty()) return;  // nothing the snapshot holds: no family at all
        out += "# HELP " + name_ + ' ' + escape(help_, false) + '\n';
        out += "# TYPE " + name_ + ' ' + type_ + '\n';
        for (const auto &[series, v] : samples_) out += series + ' ' + format(v) + '\n';
    }

  private:
    std::string name_, type_, help_;
    std::vector<std::pair<std::string, Value>> samples_;
    std::map<std::string, size_t> index_;
};

Labels with(Labels base, std::string_view name, std::string value) {
    base.emplace_back(name, std::move(value));
    return base;
}

Family gate_info(const Snapshot &s) {
    Family f("xdpknock_gate_info", "gauge", "How the gate is attached to the interface (1).");
    for (const Interface &i : s.interfaces) {
        if (!i.mode.empty()) f.add({{"interface", i.name}, {"mode", i.mode}}, uint64_t{1});
    }
    return f;
}

Family xdp_packets(const Snapshot &s) {
    Family f("xdpknock_xdp_packets_total", "counter",
             "Packets the XDP gate decided on, by decision (its counter's name).");
    for (const Interface &i : s.interfaces) {
        if (!i.counters) continue;
        for (unsigned c = 0; c < i.counters->size(); ++c) {
            f.add({{"interface", i.name}, {"decision", gate::counter_name(c)}}, (*i.counters)[c]);
        }
    }
    return f;
}

Family knocks(const Snapshot &s) {
    Family f("xdpknock_knocks_total", "counter",
             "Knocks granted, by range and secret label (result is always \"accepted\": a "
             "refused knock is counted before any secret matched, see "
             "xdpknock_knock_rejects_total).");
    for (const Interface &i : s.interfaces) {
        if (!i.ranges) continue;
        for (const Range &r : *i.ranges) {
            for (const auto &[label, n] : r.accepted) {
                f.add({{"interface", i.name},
                       {"range", r.name},
                       {"secret", label},
                       {"result", "accepted"}},
                      n);
            }
        }
    }
    return f;
}

// Rejects and not-knocks: the workers count them per queue (the http knocks' judge apart),
// summed per interface here.
void add_rejects(const Snapshot &s, Family &rejects, Family &not_knock) {
    for (const Interface &i : s.interfaces) {
        if (!i.pipeline) continue;
        Rejects sum{};
        uint64_t other = 0;
        auto add_queue = [&](const Queue &q) {
            for (size_t r = 0; r < sum.size(); ++r) sum[r] += q.rejected[r];
            other += q.not_knock;
        };
        for (const Queue &q : i.pipeline->queues) add_queue(q);
        if (i.pipeline->http) add_queue(*i.pipeline->http);
        for (size_t r = 1; r < sum.size(); ++r) {  // 0 is "ok", never a reject
            rejects.add(
                {{"interface", i.name}, {"reason", spa::reject_name(static_cast<spa::Reject>(r))}},
                sum[r]);
        }
        not_knock.add({{"interface", i.name}}, other);
    }
}

// Each range's share of the authorized map.
void add_ranges(const Snapshot &s, std::vector<Family> &out) {
    Family sources("xdpknock_authorized_sources", "gauge",
                   "Sources holding an authorization, by the range that granted it (a source "
                   "granted by two ranges counts in both).");
    Family max("xdpknock_authorized_sources_max", "gauge",
               "Most sources the range may hold at once (max_sources).");
    Family entries("xdpknock_authorized_entries", "gauge",
                   "Authorized map entries (source and port) held by the range's sources.");
    Family refused("xdpknock_grants_refused_total", "counter",
                   "Accepted knocks whose grant was refused: the range's quota (range_full) or "
                   "the map (map_full) was full. Restarts at 0 on a reload.");
    for (const Interface &i : s.interfaces) {
        if (!i.ranges) continue;
        for (const Range &r : *i.ranges) {
            const Labels l{{"interface", i.name}, {"range", r.name}};
            sources.add(l, uint64_t{r.sources});
            max.add(l, uint64_t{r.max_sources});
            entries.add(l, uint64_t{r.entries});
            refused.add(with(l, "reason", "range_full"), r.range_full);
            refused.add(with(l, "reason", "map_full"), r.map_full);
        }
    }
    for (Family *f : {&sources, &max, &entries, &refused}) out.push_back(std::move(*f));
}

Family map_max(const Snapshot &s) {
    Family f("xdpknock_authorized_map_entries_max", "gauge",
             "Size of the interface's authorized map (entries).");
    for (const Interface &i : s.interfaces) {
        if (i.authorized_max) f.add({{"interface", i.name}}, uint64_t{*i.authorized_max});
    }
    return f;
}

// Per rx queue: the workers' frames and the AF_XDP socket's ring statistics.
void add_queues(const Snapshot &s, std::vector<Family> &out) {
    Family frames("xdpknock_queue_frames_total", "counter",
                  "Frames the queue's workers took from its AF_XDP socket.");
    Family drops("xdpknock_ring_drops_total", "counter",
                 "Knocks the kernel dropped before the workers saw them: the rx ring was full "
                 "(rx_ring_full) or no frame was free (rx_dropped).");
    Family fill("xdpknock_fill_ring_empty_total", "counter",
                "Times the queue's fill ring was found empty (the workers fell behind).");
    for (const Interface &i : s.interfaces) {
        if (!i.pipeline) continue;
        for (const Queue &q : i.pipeline->queues) {
            const Labels l{{"interface", i.name}, {"queue", std::to_string(q.queue)}};
            frames.add(l, q.frames);
            drops.add(with(l, "reason", "rx_ring_full"), q.ring_full);
            drops.add(with(l, "reason", "rx_dropped"), q.rx_dropped);
            fill.add(l, q.fill_empty);
        }
    }
    for (Family *f : {&frames, &drops, &fill}) out.push_back(std::move(*f));
}

// Exposed bucket bounds: one per power of two, 2^k - 1 ns, each the upper bound of a fine
// bucket, so every cumulative count is exact (no fine bucket straddles a bound).
constexpr unsigned kFirstBound = 9, kLastBound = 35;  // 511 ns .. ~34 s

// _sum is not recorded (the hot path only counts): estimated from each fine bucket's
// midpoint, within 6.25% of the true sum (values past the last bucket count as its bound).
double estimated_sum_seconds(const Latency &c) {
    double ns = 0;
    for (unsigned b = 0; b < c.size(); ++b) {
        if (!c[b]) continue;
        const double hi = static_cast<double>(H::upper_ns(b));
        const double lo = b == 0 ? 0 : static_cast<double>(H::upper_ns(b - 1) + 1);
        ns += static_cast<double>(c[b]) * (b + 1 == c.size() ? hi : (lo + hi) / 2);
    }
    return ns / 1e9;
}

void add_histogram(Family &f, const Labels &l, const Latency &c) {
    uint64_t seen = 0;
    unsigned b = 0;
    for (unsigned k = kFirstBound; k <= kLastBound; ++k) {
        const uint64_t bound = (uint64_t{1} << k) - 1;
        for (; b < c.size() && H::upper_ns(b) <= bound; ++b) seen += c[b];
        f.add(with(l, "le", format_double(static_cast<double>(bound) / 1e9)), seen, "_bucket");
    }
    const uint64_t count = latency_count(c);
    f.add(with(l, "le", "+Inf"), count, "_bucket");
    f.add(l, estimated_sum_seconds(c), "_sum");
    f.add(l, count, "_count");
}

Family latency(const Snapshot &s) {
    Family f("xdpknock_knock_latency_seconds", "histogram",
             "Knock to authorization (XDP timestamp to map write), the workers' histograms "
             "merged; _sum is estimated from bucket midpoints.");
    for (const Interface &i : s.interfaces) {
        if (i.pipeline) add_histogram(f, {{"interface", i.name}}, total_latency(*i.pipeline));
    }
    return f;
}

void add_hosts(const Snapshot &s, std::vector<Family> &out) {
    Family wakes("xdpknock_wake_total", "counter",
                 "Authorized SYNs for a sleeping host's service, by what followed: magic "
                 "packets sent (wake_started), the host answered the probe (already_awake), "
                 "a wake was already running (coalesced).");
    Family state("xdpknock_wake_host_state", "gauge", "The host's state (1) as last seen.");
    Family probed("xdpknock_wake_host_probed_timestamp_seconds", "gauge",
                  "When the host was last probed (unix time).");
    static const std::vector<wake::HostStatus> none;
    for (const wake::HostStatus &h : s.hosts ? *s.hosts : none) {
        const Labels l{{"host", h.name}};
        wakes.add(with(l, "result", "wake_started"), h.wakes);
        wakes.add(with(l, "result", "already_awake"), h.already_awake);
        wakes.add(with(l, "result", "coalesced"), h.coalesced);
        bool known = false;  // a state this list lacks shows as unknown: labels stay bounded
        for (const char *name : {"awake", "asleep", "waking"}) {
            known |= h.state == name;
            state.add(with(l, "state", name), uint64_t{h.state == name});
        }
        state.add(with(l, "state", "unknown"), uint64_t{!known});
        if (h.probed_at > 0) probed.add(l, static_cast<uint64_t>(h.probed_at));
    }
    for (Family *f : {&wakes, &state, &probed}) out.push_back(std::move(*f));
}

void add_cluster(const ClusterState &c, std::vector<Family> &out) {
    const Labels node{{"node", c.node}};
    out.emplace_back("xdpknock_cluster_connected", "gauge",
                     "1 while Redis answers; 0: this gateway judges alone (local replays only).");
    out.back().add(node, uint64_t{c.connected});
    out.emplace_back("xdpknock_cluster_outages_total", "counter", "Times Redis stopped answering.");
    out.back().add(node, c.outages);
    out.emplace_back("xdpknock_cluster_events_total", "counter",
                     "Grants and revokes: this gateway's sent to Redis (published), not sent for "
                     "a full backlog (dropped), other gateways' written here (applied).");
    out.back().add(with(node, "event", "published"), c.published);
    out.back().add(with(node, "event", "dropped"), c.dropped);
    out.back().add(with(node, "event", "applied"), c.applied);
    out.emplace_back("xdpknock_cluster_queued", "gauge",
                     "Grants, revokes and digests waiting for Redis.");
    out.back().add(node, c.queued);
    out.emplace_back("xdpknock_cluster_replay_total", "counter",
                     "Knocks another gateway had seen first (remote), judged without Redis "
                     "(local_only).");
    out.back().add(with(node, "decided", "remote"), c.replay_remote);
    out.back().add(with(node, "decided", "local_only"), c.replay_local_only);
    out.emplace_back("xdpknock_cluster_peers", "gauge",
                     "Other gateways heard from in the last 5 s.");
    out.back().add(node, uint64_t{c.peers.size()});
    out.emplace_back("xdpknock_cluster_lag_seconds", "gauge",
                     "A peer's grant: accepted there -> written here, over the last samples.");
    for (auto [q, v] :
         {std::pair{"0.5", c.lag_p50_us}, {"0.99", c.lag_p99_us}, {"1", c.lag_max_us}})
        out.back().add(with(node, "quantile", q), v / 1e6);
}

}  // namespace

std::string to_prometheus(const Snapshot &s, const BuildInfo &build) {
    std::vector<Family> families;
    families.emplace_back("xdpknock_build_info", "gauge", "The daemon's version and commit (1).");
    families.back().add({{"version", build.version}, {"commit", build.commit}}, uint64_t{1});
    families.push_back(gate_info(s));
    families.push_back(xdp_packets(s));
    families.push_back(knocks(s));
    Family rejects("xdpknock_knock_rejects_total", "counter",
                   "Knocks refused, by reason (counted before a range or secret is known).");
    Family not_knock("xdpknock_not_knock_frames_total", "counter",
                     "Frames the workers got that did not parse as UDP to a knock port.");
    add_rejects(s, rejects, not_knock);
    families.push_back(std::move(rejects));
    families.push_back(std::move(not_knock));
    add_ranges(s, families);
    families.push_back(map_max(s));
    add_queues(s, families);
    families.push_back(latency(s));
    add_hosts(s, families);
    Family replay("xdpknock_replay_cache_entries", "gauge",
                  "Live digests in the replay cache (fko knocks remembered).");
    if (s.replay_entries) replay.add({}, *s.replay_entries);
    families.push_back(std::move(replay));
    if (s.cluster) add_cluster(*s.cluster, families);

    std::string out;
    for (const Family &f : families) f.write(out);
    return out;
}

}  // namespace xk::stats
