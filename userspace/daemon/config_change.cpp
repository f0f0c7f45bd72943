#include "daemon/config_change.hpp"

#include <algorithm>

#include "methods/registry.hpp"
#include "packet/knock_filter.hpp"
#include "policy/knock_policy.hpp"

namespace xk::daemon {
namespace {

std::string interfaces_key(const policy::Config &a, const policy::Config &b) {
    if (a.interfaces.size() != b.interfaces.size()) return "config.interfaces";
    for (size_t i = 0; i < a.interfaces.size(); ++i) {
        const std::string at = "interfaces[" + std::to_string(i) + "]";
        if (a.interfaces[i].name != b.interfaces[i].name) return at + ".name";
        if (a.interfaces[i].mode != b.interfaces[i].mode) return at + ".xdp_mode";
        if (a.interfaces[i].gate != b.interfaces[i].gate) return at + ".gate";
    }
    return "";
}

// The replay cache keeps each digest for the retention it was built with: a range whose
// time window needs longer would accept a replay once its digest aged out.
std::string retention_key(const policy::Config &next, int64_t replay_retention_s) {
    if (policy::KnockPolicy::replay_retention(next) <= replay_retention_s) return "";
    for (size_t i = 0; i < next.ranges.size(); ++i) {
        policy::Config one;
        one.ranges.push_back(next.ranges[i]);
        if (policy::KnockPolicy::replay_retention(one) > replay_retention_s)
            return "ranges[" + std::to_string(i) + "].proof_time";
    }
    return "config.ranges";
}

// "ranges[i].<key> (<what>)" for the first range of b that needs something a has no range
// for ("" if a has one, or b none): turning such a feature on needs a restart.
template <typename Needs>
std::string first_added(const policy::Config &a, const policy::Config &b, Needs needs,
                        const char *key, const char *what) {
    auto first = [&](const policy::Config &c) {
        for (size_t i = 0; i < c.ranges.size(); ++i)
            if (needs(c.ranges[i])) return i;
        return c.ranges.size();
    };
    const size_t in_b = first(b);
    if (first(a) < a.ranges.size() || in_b == b.ranges.size()) return "";
    return "ranges[" + std::to_string(in_b) + "]." + key + " (" + what + ")";
}

// The gate is loaded with its sequence code only when the config has a sequence range
// (rodata, so the verifier prunes it otherwise): the first one added needs a new load.
std::string sequence_key(const policy::Config &a, const policy::Config &b) {
    return first_added(
        a, b, [](const policy::Range &r) { return !methods::method_of(r).judged_by_workers(); },
        "method", "the first sequence range");
}

// NAT access hooks nftables' NAT chains in at start, only when a range forwards (they cost
// every new connection a NAT lookup): the first forwarding range needs a restart.
std::string nat_key(const policy::Config &a, const policy::Config &b) {
    return first_added(
        a, b, [](const policy::Range &r) { return r.nat.enabled(); }, "nat",
        "the first range with NAT access");
}

// An nftables gate's knock sockets took their classic BPF filter at start: other knock
// ports or transports there need a restart (the chain would drop knocks no worker sees).
std::string nft_knocks_key(const policy::Config &a, const policy::Config &b) {
    const bool nft = std::any_of(b.interfaces.begin(), b.interfaces.end(), [](const auto &i) {
        return i.gate == policy::GateKind::nftables;
    });
    auto sorted = [](packet::KnockPorts k) {
        std::sort(k.udp.begin(), k.udp.end());
        std::sort(k.tcp.begin(), k.tcp.end());
        k.udp.erase(std::unique(k.udp.begin(), k.udp.end()), k.udp.end());
        k.tcp.erase(std::unique(k.tcp.begin(), k.tcp.end()), k.tcp.end());
        return k;
    };
    if (!nft || sorted(packet::knock_ports(a)) == sorted(packet::knock_ports(b))) return "";
    return "ranges (the knock ports and transports of an nftables gate)";
}

bool same_host(const policy::Host &a, const policy::Host &b) {
    return a.name == b.name && a.mac == b.mac && a.ipv4 == b.ipv4 && a.ipv6 == b.ipv6 &&
           a.interface == b.interface && a.wake_type == b.wake_type && a.wake_port == b.wake_port &&
           a.repeat_ms == b.repeat_ms && a.timeout_s == b.timeout_s;
}

bool same_service(const policy::Service &a, const policy::Service &b) {
    return a.name == b.name && a.port == b.port && a.host == b.host && a.address == b.address;
}

bool same_names(const policy::Range &a, const policy::Range &b) {
    return a.name == b.name &&
           std::equal(a.secrets.begin(), a.secrets.end(), b.secrets.begin(), b.secrets.end(),
                      [](const auto &x, const auto &y) { return x.label == y.label; });
}

}  // namespace

std::string restart_key(const policy::Config &running, const policy::Config &next,
                        int64_t replay_retention_s) {
    if (std::string key = interfaces_key(running, next); !key.empty()) return key;
    const policy::Config &a = running, &b = next;
    const std::pair<const char *, bool> fixed[] = {
        {"config.state_dir", a.state_dir == b.state_dir},
        {"config.workers", a.workers == b.workers},
        {"config.cpus", a.cpus == b.cpus},
        {"config.busy_poll", a.busy_poll == b.busy_poll},
        {"config.authorized_max", a.authorized_max == b.authorized_max},
        {"config.flow_idle_timeout", a.flow_idle_timeout_s == b.flow_idle_timeout_s},
        {"config.udp_timeout", a.udp_timeout_s == b.udp_timeout_s},
        {"config.udp_stream_timeout", a.udp_stream_timeout_s == b.udp_stream_timeout_s},
        {"config.replay_capacity", a.replay_capacity == b.replay_capacity},
        {"config.umem_frames", a.umem_frames == b.umem_frames},
        {"config.cluster", a.cluster == b.cluster},
        {"metrics.listen", a.metrics.host == b.metrics.host && a.metrics.port == b.metrics.port},
        {"metrics.allow_remote", a.metrics.allow_remote == b.metrics.allow_remote},
    };
    for (const auto &[key, same] : fixed) {
        if (!same) return key;
    }
    if (std::string key = sequence_key(a, b); !key.empty()) return key;
    if (std::string key = nat_key(a, b); !key.empty()) return key;
    if (std::string key = nft_knocks_key(a, b); !key.empty()) return key;
    return retention_key(next, replay_retention_s);
}

bool same_wake_inputs(const policy::Config &a, const policy::Config &b) {
    if (a.hosts.empty() && b.hosts.empty()) return true;  // no wake service either way
    return std::equal(a.hosts.begin(), a.hosts.end(), b.hosts.begin(), b.hosts.end(), same_host) &&
           std::equal(a.services.begin(), a.services.end(), b.services.begin(), b.services.end(),
                      same_service) &&
           std::equal(a.ranges.begin(), a.ranges.end(), b.ranges.begin(), b.ranges.end(),
                      same_names);
}

std::vector<policy::Service> unprotected_services(const policy::Config &running,
                                                  const policy::Config &next) {
    std::vector<policy::Service> out;
    for (const auto &s : running.services) {
        bool kept = std::any_of(next.services.begin(), next.services.end(),
                                [&](const policy::Service &n) { return n.port == s.port; });
        if (!kept) out.push_back(s);
    }
    return out;
}

log::Level log_level_of(const policy::Config &config, bool verbose) {
    if (verbose || config.log_level == "debug") return log::Level::debug;
    if (config.log_level == "warn") return log::Level::warn;
    if (config.log_level == "error") return log::Level::error;
    return log::Level::info;
}

}  // namespace xk::daemon
