#include "stats/json_reader.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace xk::stats {
namespace {

using nlohmann::json;
using H = workers::LatencyHistogram;

// Names the printers wrote back to indexes; a name this build does not know is skipped
// (a newer daemon may count more).
template <size_t N, typename NameOf>
void read_named(const json &j, std::array<uint64_t, N> &out, NameOf name_of) {
    for (json::const_iterator it = j.begin(); it != j.end(); ++it) {
        for (size_t i = 0; i < N; ++i) {
            if (it.key() == name_of(i)) out[i] = it.value().get<uint64_t>();
        }
    }
}

Latency read_latency(const json &j) {
    Latency c{};
    for (const auto &b : j.value("buckets", json::array()))
        c[H::index(b.at(0).get<uint64_t>())] += b.at(1).get<uint64_t>();
    return c;
}

Queue read_judged(const json &j) {
    Queue q;
    q.frames = j.at("frames").get<uint64_t>();
    q.accepted = j.at("accepted").get<uint64_t>();
    q.not_knock = j.value("not_knock", uint64_t{0});
    read_named(j.value("rejected", json::object()), q.rejected,
               [](size_t r) { return spa::reject_name(static_cast<spa::Reject>(r)); });
    return q;
}

Queue read_queue(const json &j) {
    Queue q = read_judged(j);
    q.queue = j.at("queue").get<uint32_t>();
    q.workers = j.value("workers", 1u);
    q.ring_full = j.at("ring_full").get<uint64_t>();
    q.rx_dropped = j.at("rx_dropped").get<uint64_t>();
    q.fill_empty = j.value("fill_empty", uint64_t{0});
    if (j.contains("latency")) q.latency = read_latency(j["latency"]);
    return q;
}

Pipeline read_pipeline(const json &j) {
    Pipeline p;
    for (const auto &q : j.at("queues")) p.queues.push_back(read_queue(q));
    for (const auto &w : j.value("workers", json::array())) {
        p.workers.push_back({w.at("cpu").get<unsigned>(), w.at("queue").get<uint32_t>(),
                             w.at("poller").get<bool>(), w.at("frames").get<uint64_t>()});
    }
    if (j.contains("http")) p.http = read_judged(j["http"]);
    return p;
}

Authorization read_authorization(const json &j) {
    auto source = policy::parse_address(j.at("source").get<std::string>());
    if (!source) throw std::invalid_argument("authorized[].source");
    return {*source,
            policy::parse_port_ref(j.at("port").get<std::string>()),
            j.at("seconds_left").get<int64_t>(),
            j.at("expired").get<bool>(),
            j.at("range").get<uint32_t>(),
            j.at("secret").get<uint32_t>()};
}

Interface read_interface(const json &j) {
    Interface i;
    i.name = j.at("interface").get<std::string>();
    i.mode = j.value("mode", "");
    i.xdp = j.value("xdp", "");
    if (j.contains("counters")) {
        i.counters.emplace();
        read_named(j["counters"], *i.counters, gate::counter_name);
    }
    if (j.contains("authorized")) {
        i.authorized.emplace();
        for (const auto &a : j["authorized"]) i.authorized->push_back(read_authorization(a));
    }
    if (j.contains("queues")) i.pipeline = read_pipeline(j);
    if (j.contains("ranges")) {
        i.ranges.emplace();
        for (const auto &r : j["ranges"]) {
            Range x{r.at("range").get<std::string>(),   {},
                    r.at("sources").get<uint32_t>(),    r.at("max_sources").get<uint32_t>(),
                    r.at("range_full").get<uint64_t>(), r.at("map_full").get<uint64_t>()};
            for (const auto &a : r.at("accepted"))
                x.accepted.emplace_back(a.at("secret").get<std::string>(),
                                        a.at("accepted").get<uint64_t>());
            i.ranges->push_back(std::move(x));
        }
    }
    return i;
}

wake::HostStatus read_host(const json &j) {
    wake::HostStatus h{j.at("name").get<std::string>(),
                       j.at("mac").get<std::string>(),
                       j.at("interface").get<std::string>(),
                       j.at("state").get<std::string>(),
                       j.value("probed_at", int64_t{0}),
                       j.at("wakes").get<uint64_t>(),
                       j.at("already_awake").get<uint64_t>(),
                       j.value("coalesced", uint64_t{0}),
                       std::nullopt};
    if (j.contains("last_wake")) {
        const json &w = j["last_wake"];
        h.last_wake = wake::LastWake{w.at("at").get<int64_t>(),
                                     w.at("trigger").get<std::string>(),
                                     w.value("source", ""),
                                     w.value("service", ""),
                                     w.value("range", ""),
                                     w.value("secret", ""),
                                     w.at("result").get<std::string>(),
                                     w.at("magic_packets").get<unsigned>(),
                                     w.at("ms").get<uint64_t>()};
    }
    return h;
}

ClusterState read_cluster(const json &j) {
    ClusterState c;
    c.node = j.at("node").get<std::string>();
    c.redis = j.at("redis").get<std::string>();
    c.connected = j.at("connected").get<bool>();
    c.down_since = j.at("down_since").get<int64_t>();
    for (auto [key, field] : {std::pair{"outages", &c.outages},
                              {"published", &c.published},
                              {"queued", &c.queued},
                              {"dropped", &c.dropped},
                              {"applied", &c.applied},
                              {"replay_remote", &c.replay_remote},
                              {"replay_local_only", &c.replay_local_only},
                              {"lag_samples", &c.lag_samples}})
        *field = j.at(key).get<uint64_t>();
    c.lag_p50_us = j.at("lag_p50_us").get<uint32_t>();
    c.lag_p99_us = j.at("lag_p99_us").get<uint32_t>();
    c.lag_max_us = j.at("lag_max_us").get<uint32_t>();
    c.peers = j.at("peers").get<std::vector<std::string>>();
    return c;
}

}  // namespace

std::optional<Snapshot> from_json(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("interfaces")) return std::nullopt;
    try {
        Snapshot s;
        s.pid = j.value("pid", 0);
        for (const auto &i : j["interfaces"]) s.interfaces.push_back(read_interface(i));
        if (j.contains("hosts")) {
            s.hosts.emplace();
            for (const auto &h : j["hosts"]) s.hosts->push_back(read_host(h));
        }
        if (j.contains("cluster")) s.cluster = read_cluster(j["cluster"]);
        return s;
    } catch (const std::exception &) {  // json type errors, a bad address or port
        return std::nullopt;
    }
}

}  // namespace xk::stats
