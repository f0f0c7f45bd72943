#include "stats/json_printer.hpp"

#include <nlohmann/json.hpp>

namespace xk::stats {
namespace {

using nlohmann::json;
using H = workers::LatencyHistogram;

// Quantiles for people; the non-empty buckets ([upper bound ns, count]) for the reader,
// so stats.json turns back into the same histogram.
json latency_json(const Latency &c, bool buckets) {
    json j = {{"count", latency_count(c)},
              {"p50_us", static_cast<double>(H::quantile_ns(c, 0.50)) / 1000.0},
              {"p99_us", static_cast<double>(H::quantile_ns(c, 0.99)) / 1000.0},
              {"max_us", static_cast<double>(H::quantile_ns(c, 1.0)) / 1000.0}};
    if (!buckets) return j;
    j["buckets"] = json::array();
    for (unsigned i = 0; i < c.size(); ++i) {
        if (c[i]) j["buckets"].push_back({H::upper_ns(i), c[i]});
    }
    return j;
}

// What a queue's workers (or the http knocks' judge) decided.
json judged_json(const Queue &q) {
    json rejected = json::object();
    for (size_t r = 0; r < q.rejected.size(); ++r) {
        if (q.rejected[r]) rejected[spa::reject_name(static_cast<spa::Reject>(r))] = q.rejected[r];
    }
    return {{"frames", q.frames},
            {"accepted", q.accepted},
            {"not_knock", q.not_knock},
            {"rejected", rejected}};
}

json queue_json(const Queue &q) {
    json j = judged_json(q);
    j.update({{"queue", q.queue},
              {"workers", q.workers},
              {"ring_full", q.ring_full},
              {"rx_dropped", q.rx_dropped},
              {"fill_empty", q.fill_empty},
              {"latency", latency_json(q.latency, true)}});
    return j;
}

void add_pipeline(json &j, const Pipeline &p) {
    j["queues"] = json::array();
    for (const Queue &q : p.queues) j["queues"].push_back(queue_json(q));
    j["workers"] = json::array();
    for (const Worker &w : p.workers) {
        j["workers"].push_back(
            {{"cpu", w.cpu}, {"queue", w.queue}, {"poller", w.poller}, {"frames", w.frames}});
    }
    j["latency"] = latency_json(total_latency(p), false);
    if (p.http) j["http"] = judged_json(*p.http);
}

json authorization_json(const Authorization &a) {
    return {{"source", policy::format_address(a.source)},
            {"port", policy::format_port(a.port)},
            {"seconds_left", a.seconds_left},
            {"expired", a.expired},
            {"range", a.range},
            {"secret", a.secret}};
}

json interface_json(const Interface &i) {
    json j = {{"interface", i.name}};
    if (!i.mode.empty()) j["mode"] = i.mode;
    if (!i.xdp.empty()) j["xdp"] = i.xdp;
    if (i.counters) {
        for (unsigned c = 0; c < i.counters->size(); ++c)
            j["counters"][gate::counter_name(c)] = (*i.counters)[c];
    }
    if (i.authorized) {
        j["authorized"] = json::array();
        for (const Authorization &a : *i.authorized)
            j["authorized"].push_back(authorization_json(a));
    }
    if (i.pipeline) add_pipeline(j, *i.pipeline);
    if (i.ranges) {
        j["ranges"] = json::array();
        for (const Range &r : *i.ranges) {
            json accepted = json::array();
            for (const auto &[label, n] : r.accepted)
                accepted.push_back({{"secret", label}, {"accepted", n}});
            j["ranges"].push_back({{"range", r.name},
                                   {"accepted", accepted},
                                   {"sources", r.sources},
                                   {"max_sources", r.max_sources},
                                   {"range_full", r.range_full},
                                   {"map_full", r.map_full}});
        }
    }
    return j;
}

json host_json(const wake::HostStatus &h) {
    json j = {{"name", h.name},
              {"mac", h.mac},
              {"interface", h.interface},
              {"state", h.state},
              {"probed_at", h.probed_at},
              {"wakes", h.wakes},
              {"already_awake", h.already_awake},
              {"coalesced", h.coalesced}};
    if (const auto &w = h.last_wake) {
        j["last_wake"] = {{"at", w->at},         {"trigger", w->trigger},
                          {"source", w->source}, {"service", w->service},
                          {"range", w->range},   {"secret", w->secret},
                          {"result", w->result}, {"magic_packets", w->magic_packets},
                          {"ms", w->ms}};
    }
    return j;
}

json cluster_json(const ClusterState &c) {
    return {{"node", c.node},
            {"redis", c.redis},
            {"connected", c.connected},
            {"down_since", c.down_since},
            {"outages", c.outages},
            {"published", c.published},
            {"queued", c.queued},
            {"dropped", c.dropped},
            {"applied", c.applied},
            {"replay_remote", c.replay_remote},
            {"replay_local_only", c.replay_local_only},
            {"lag_samples", c.lag_samples},
            {"lag_p50_us", c.lag_p50_us},
            {"lag_p99_us", c.lag_p99_us},
            {"lag_max_us", c.lag_max_us},
            {"peers", c.peers}};
}

}  // namespace

std::string to_json(const Snapshot &s, int indent) {
    json j = {{"interfaces", json::array()}};
    if (s.pid) j["pid"] = s.pid;
    for (const Interface &i : s.interfaces) j["interfaces"].push_back(interface_json(i));
    if (s.hosts) {
        j["hosts"] = json::array();
        for (const auto &h : *s.hosts) j["hosts"].push_back(host_json(h));
    }
    if (s.cluster) j["cluster"] = cluster_json(*s.cluster);
    return j.dump(indent);
}

}  // namespace xk::stats
