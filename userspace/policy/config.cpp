#include "policy/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <bit>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include <nlohmann/json.hpp>

#include "policy/config_gate.hpp"
#include "policy/config_hosts.hpp"
#include "policy/config_json.hpp"
#include "policy/json_secret_fields.hpp"

#include "hooks/hook_args.hpp"

#include "methods/registry.hpp"

#include "xdpknock/maps.h"

namespace xk::policy {
namespace {

using nlohmann::json;

using namespace config_json;
using config_hosts::parse_host;
using config_hosts::parse_service_host;

constexpr uint64_t kAuthorizedMax = 1048576;  // largest authorized map we size

// One hook's argv: strings, an absolute executable first, only known %PLACEHOLDERS%.
std::vector<std::string> parse_argv(const json &j, const std::string &p) {
    if (!j.is_array() || j.empty())
        fail(p, "must be a command: [\"/path/to/program\", \"arg\", …]");
    std::vector<std::string> argv;
    for (size_t i = 0; i < j.size(); ++i) {
        std::string pi = p + "[" + std::to_string(i) + "]";
        if (!j[i].is_string()) fail(pi, "must be a string");
        argv.push_back(j[i].get<std::string>());
        const std::string &a = argv.back();
        // Scanned as hooks::expand scans it: a known placeholder is skipped whole.
        for (size_t pos = a.find('%'); pos != std::string::npos; pos = a.find('%', pos + 1)) {
            size_t end = a.find('%', pos + 1);
            std::string name = end == std::string::npos ? "" : a.substr(pos + 1, end - pos - 1);
            const bool word = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || c == '_';
            });
            if (word && !hooks::known_placeholder(name))
                fail(pi, "unknown placeholder %" + name + "%");
            if (word) pos = end;
        }
    }
    if (argv[0].empty() || argv[0][0] != '/') fail(p + "[0]", "must be an absolute path");
    if (access(argv[0].c_str(), X_OK) != 0)
        fail(p + "[0]", argv[0] + " is not an executable: " + std::strerror(errno));
    return argv;
}

RangeHooks parse_hooks(const json &j, const std::string &path) {
    RangeHooks h;
    if (!j.contains("hooks")) return h;
    const std::string p = path + ".hooks";
    const json &o = j.at("hooks");
    only_keys(o, p, {"on_authorize", "on_expire", "timeout_s"});
    if (o.contains("on_authorize"))
        h.on_authorize = parse_argv(o.at("on_authorize"), p + ".on_authorize");
    if (o.contains("on_expire")) h.on_expire = parse_argv(o.at("on_expire"), p + ".on_expire");
    h.timeout_s = static_cast<uint32_t>(get_uint(o, p, "timeout_s", 10, 1, 3600));
    return h;
}

std::vector<PortRef> parse_open(const json &j, const std::string &path,
                                const std::vector<Service> &services) {
    std::vector<PortRef> out;
    const json &open = get_array(j, path, "open", true);
    if (open.empty()) fail(path + ".open", "must list at least one proto/port or \"*\"");
    for (size_t i = 0; i < open.size(); ++i) {
        std::string p = path + ".open[" + std::to_string(i) + "]";
        if (!open[i].is_string()) fail(p, "must be a string like \"tcp/22\" or \"*\"");
        PortRef ref;
        try {
            ref = parse_port_ref(open[i].get<std::string>());
        } catch (const ConfigError &e) {
            fail(p, e.what());
        }
        bool guarded =
            ref.port == 0 || std::any_of(services.begin(), services.end(),
                                         [&](const Service &s) { return s.port == ref; });
        if (!guarded)
            fail(p, format_port(ref) + " is not a protected service (add it to services)");
        out.push_back(ref);
    }
    return out;
}

// "transports": fwknop's -P names; udp by default.
uint8_t parse_transports(const json &j, const std::string &path) {
    if (!j.contains("transports")) return static_cast<uint8_t>(Transport::udp);
    const json &list = get_array(j, path, "transports", true);
    if (list.empty())
        fail(path + ".transports", "must list at least one of udp, tcpraw, icmp, http");
    uint8_t out = 0;
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string p = path + ".transports[" + std::to_string(i) + "]";
        const std::string name = list[i].is_string() ? list[i].get<std::string>() : "";
        if (name == "udp" || name == "udpraw") {
            out |= static_cast<uint8_t>(Transport::udp);
        } else if (name == "tcpraw") {
            out |= static_cast<uint8_t>(Transport::tcp);
        } else if (name == "icmp") {
            out |= static_cast<uint8_t>(Transport::icmp);
        } else if (name == "tcp") {
            fail(p,
                 "tcp needs a listening TCP socket (fwknopd's ENABLE_TCP_SERVER), which a scan "
                 "would find: use tcpraw, a single SYN carrying the knock");
        } else if (name == "http") {
            out |= static_cast<uint8_t>(Transport::http);
        } else {
            fail(p, "must be udp, udpraw, tcpraw, icmp or http");
        }
    }
    return out;
}

// The keys of a range whose knocks workers judge: its knock port, secrets and fko window.
void parse_worker_keys(const json &j, const std::string &path, Range &r) {
    r.port = static_cast<uint16_t>(get_uint(j, path, "port", 62201, 1, 65535));
    r.transports = parse_transports(j, path);
    r.expires_at = static_cast<int64_t>(get_uint(j, path, "expires_at", 0, 0, 1ull << 40));
    r.proof_ip = get_bool(j, path, "proof_ip", false);
    r.proof_time_s = static_cast<uint32_t>(get_uint(j, path, "proof_time", 120, 0, 86400));
    r.max_client_timeout_s =
        static_cast<uint32_t>(get_uint(j, path, "max_client_timeout", 300, 1, 65536));
    const json &secrets = get_array(j, path, "secrets", true);
    if (secrets.empty()) fail(path + ".secrets", "needs at least one secret");
    const methods::KnockMethod &m = methods::method_of(r);
    for (size_t i = 0; i < secrets.size(); ++i) {
        std::string p = path + ".secrets[" + std::to_string(i) + "]";
        r.secrets.push_back(m.parse_secret(JsonSecretFields(secrets[i], p)));
    }
}

// A list of IPv4/IPv6 addresses or CIDRs ("sources", "destinations"); absent: empty.
std::vector<Cidr> parse_cidrs(const json &j, const std::string &path, const char *key) {
    std::vector<Cidr> out;
    const json &list = get_array(j, path, key, false);
    for (size_t i = 0; i < list.size(); ++i) {
        std::string p = path + "." + key + "[" + std::to_string(i) + "]";
        if (!list[i].is_string()) fail(p, "must be a CIDR string");
        auto cidr = parse_cidr(list[i].get<std::string>());
        if (!cidr) fail(p, "is not an IPv4/IPv6 address or CIDR");
        out.push_back(*cidr);
    }
    return out;
}

Range parse_range(const json &j, const std::string &path, const std::vector<Service> &services) {
    Range r;
    std::string method = get_string(j, path, "method", "", true);
    if (!methods::find_method(method, r.method)) {
        fail(path + ".method", "must be " + methods::method_names() + ", not \"" + method + "\"");
    }
    const methods::KnockMethod &m = methods::method_of(r);
    std::vector<const char *> keys = {"name", "method",      "timeout", "sources",
                                      "open", "max_sources", "hooks"};
    if (m.judged_by_workers())
        keys.insert(keys.end(), {"port", "transports", "secrets", "proof_ip", "proof_time",
                                 "max_client_timeout", "expires_at", "destinations"});
    if (m.judged_by_workers())
        keys.insert(keys.end(), std::begin(config_gate::kNatKeys), std::end(config_gate::kNatKeys));
    for (const char *k : m.range_keys()) keys.push_back(k);
    only_keys(j, path, keys);

    r.name = get_string(j, path, "name", "", true);
    r.timeout_s = static_cast<uint32_t>(get_uint(j, path, "timeout", 30, 1, 86400));
    // 0 until assign_quotas: absent means "a fair share".
    r.max_sources = static_cast<uint32_t>(get_uint(j, path, "max_sources", 0, 1, kAuthorizedMax));
    r.sources = parse_cidrs(j, path, "sources");
    if (r.sources.empty()) r.sources.push_back(*parse_cidr("::/0"));
    r.destinations = parse_cidrs(j, path, "destinations");
    // Absent is "any"; an empty list would read as "none" to a reader, and be "any" here.
    if (j.contains("destinations") && r.destinations.empty())
        fail(path + ".destinations", "name at least one address (leave it out for any)");
    r.hooks = parse_hooks(j, path);
    if (m.judged_by_workers()) parse_worker_keys(j, path, r);
    m.parse_range(JsonSecretFields(j, path), r);
    if (m.judged_by_workers()) config_gate::parse_nat(j, path, r);
    if (!r.sequence.revoke) {
        r.open = parse_open(j, path, services);
    } else if (j.contains("open")) {
        fail(path + ".open", "a revoke sequence opens nothing: it ends its source's grants");
    }
    return r;
}

// Whether port (a protocol and port) is where range r takes knocks.
bool is_knock_port(const Range &r, const PortRef &port) {
    if (!methods::method_of(r).judged_by_workers() || r.port != port.port) return false;
    return (port.proto == 17 && r.takes(Transport::udp)) ||
           (port.proto == 6 && (r.takes(Transport::tcp) || r.takes(Transport::http)));
}

// An http knock port is a web server's: fko only (fwknop sends SPA that way, nothing else),
// and no range's tcpraw port, whose SYNs the gate takes as knocks.
void check_http_ports(const Config &c) {
    for (size_t i = 0; i < c.ranges.size(); ++i) {
        const Range &r = c.ranges[i];
        if (!r.takes(Transport::http)) continue;
        const std::string path = "ranges[" + std::to_string(i) + "].transports";
        if (r.method != Method::fko) fail(path, "http carries fwknop SPA: only fko ranges take it");
        for (const Range &o : c.ranges)
            if (o.takes(Transport::tcp) && o.port == r.port)
                fail(path, "http on tcp/" + std::to_string(r.port) + ", where range " + o.name +
                               " takes tcpraw knocks: the web server would get no SYN");
    }
}

// What the gate's sequence tables hold (maps.h): a sequence step is a port no one else
// uses, since the gate drops every packet to it.
void check_sequences(const Config &c) {
    std::vector<std::pair<PortRef, size_t>> uses;  // step -> sequence ranges with it
    size_t sequences = 0;
    for (size_t i = 0; i < c.ranges.size(); ++i) {
        const Range &r = c.ranges[i];
        if (methods::method_of(r).judged_by_workers()) continue;
        const std::string path = "ranges[" + std::to_string(i) + "].sequence";
        if (++sequences > XK_SEQ_RANGES_MAX)
            fail(path, "at most " + std::to_string(XK_SEQ_RANGES_MAX) + " sequence ranges");
        std::vector<PortRef> steps = r.sequence.steps;
        for (const auto &s : r.sequence.one_time) steps.insert(steps.end(), s.begin(), s.end());
        std::vector<PortRef> mine;
        for (const PortRef &s : steps) {
            if (std::find(mine.begin(), mine.end(), s) != mine.end()) continue;
            mine.push_back(s);
            for (const Service &svc : c.services)
                if (svc.port == s)
                    fail(path, format_port(s) + " is the protected service " + svc.name);
            for (const Range &o : c.ranges)
                if (is_knock_port(o, s))
                    fail(path, format_port(s) + " is the knock port of range " + o.name);
            auto it =
                std::find_if(uses.begin(), uses.end(), [&](const auto &u) { return u.first == s; });
            if (it == uses.end()) it = uses.insert(uses.end(), {s, 0});
            if (++it->second > XK_SEQ_PORT_RANGES)
                fail(path, format_port(s) + " is a step of more than " +
                               std::to_string(XK_SEQ_PORT_RANGES) + " sequence ranges");
        }
    }
}

// A port is a knock port or a protected service, never both: the gate could not tell a
// knock from the service's traffic (UDP, or TCP where a range takes tcpraw knocks).
void check_services_are_not_knock_ports(const Config &c) {
    for (size_t i = 0; i < c.services.size(); ++i) {
        const Service &svc = c.services[i];
        for (const Range &r : c.ranges)
            if (is_knock_port(r, svc.port))
                fail("services[" + std::to_string(i) + "].port",
                     format_port(svc.port) + " is the knock port of range " + r.name);
    }
}

// Every range gets a quota of map entries, and together they fit the map: a range that
// fills up refuses its own new sources, never another range's. A range without
// max_sources gets authorized_max / (ranges + 1), so one share always stays free (for
// hand-made `xdpknock allow` entries and for ranges with explicit quotas).
void assign_quotas(Config &c) {
    const uint64_t share = c.authorized_max / (c.ranges.size() + 1);
    uint64_t total = 0, biggest = 0;
    size_t biggest_at = c.ranges.size();  // the explicit quota taking the most entries
    for (size_t i = 0; i < c.ranges.size(); ++i) {
        Range &r = c.ranges[i];
        const uint64_t per_source = entries_per_source(r, c);
        const bool given = r.max_sources != 0;
        if (!given)
            r.max_sources = static_cast<uint32_t>(std::max<uint64_t>(1, share / per_source));
        const uint64_t entries = uint64_t{r.max_sources} * per_source;
        total += entries;
        if (given && entries > biggest) {
            biggest = entries;
            biggest_at = i;
        }
    }
    if (total <= c.authorized_max) return;
    const std::string need = "the ranges' quotas (max_sources × entries per source, summed) need " +
                             std::to_string(total) + " map entries, more than authorized_max (" +
                             std::to_string(c.authorized_max) + ")";
    if (biggest_at == c.ranges.size()) fail("config.authorized_max", "too small: " + need);
    fail("ranges[" + std::to_string(biggest_at) + "].max_sources", need);
}

// Top-level sizes of the gate's maps.
void parse_limits(const json &root, Config &c) {
    c.authorized_max = static_cast<uint32_t>(
        get_uint(root, "config", "authorized_max", c.authorized_max, 1024, kAuthorizedMax));
    c.flow_idle_timeout_s = static_cast<uint32_t>(
        get_uint(root, "config", "flow_idle_timeout", c.flow_idle_timeout_s, 10, 604800));
    c.udp_timeout_s =
        static_cast<uint32_t>(get_uint(root, "config", "udp_timeout", c.udp_timeout_s, 5, 86400));
    c.udp_stream_timeout_s = static_cast<uint32_t>(get_uint(
        root, "config", "udp_stream_timeout", c.udp_stream_timeout_s, c.udp_timeout_s, 86400));
    c.replay_capacity = static_cast<uint32_t>(
        get_uint(root, "config", "replay_capacity", c.replay_capacity, 1024, 1u << 24));
    c.umem_frames =
        static_cast<uint32_t>(get_uint(root, "config", "umem_frames", c.umem_frames, 64, 65536));
    if (!std::has_single_bit(c.umem_frames)) fail("config.umem_frames", "must be a power of two");
}

// "metrics": {"listen": "127.0.0.1:9642" or "[::1]:9642", "allow_remote": false}.
void parse_metrics(const json &root, Config &c) {
    if (!root.contains("metrics")) return;
    const json &m = root.at("metrics");
    if (!m.is_object()) fail("config.metrics", "must be an object");
    only_keys(m, "metrics", {"listen", "allow_remote"});
    const std::string listen = get_string(m, "metrics", "listen", "", true);
    c.metrics.allow_remote = get_bool(m, "metrics", "allow_remote", false);
    std::string problem;
    const auto at = parse_endpoint(listen, &problem);
    if (!at) fail("metrics.listen", problem + " (ADDRESS:PORT, e.g. 127.0.0.1:9642 or [::1]:9642)");
    const Address &addr = at->addr;
    const bool loopback = addr.is_v4() ? addr.bytes[12] == 127 : addr == *parse_address("::1");
    if (!loopback && !c.metrics.allow_remote) {
        fail("metrics.listen",
             "not a loopback address: metrics reveal traffic figures; set "
             "\"allow_remote\": true to serve them to the network");
    }
    c.metrics.host = format_address(at->addr);
    c.metrics.port = at->port;
}

// A node or prefix name: it goes into Redis keys and logs, so a plain word.
void check_word(const std::string &value, const std::string &key) {
    bool ok = !value.empty() && value.size() <= 64 &&
              std::all_of(value.begin(), value.end(), [](char ch) {
                  return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ||
                         ch == '.';
              });
    if (!ok) fail(key, "must be 1..64 letters, digits, '-', '_' or '.'");
}

// "unix:/PATH", "HOST:PORT" or "[V6]:PORT" into the endpoint's parts.
void parse_redis_endpoint(Cluster &k) {
    if (k.redis.rfind("unix:", 0) == 0) {
        k.unix_path = k.redis.substr(5);
        if (k.unix_path.empty() || k.unix_path[0] != '/')
            fail("cluster.redis", "a unix socket needs an absolute path: unix:/run/redis.sock");
        return;
    }
    std::string problem;
    const auto at = parse_endpoint(k.redis, &problem);
    if (!at)
        fail("cluster.redis",
             problem +
                 " (HOST:PORT, [IPV6]:PORT or unix:/PATH; the host an IP address: a name "
                 "would be looked up by knocks, unbounded)");
    k.host = format_address(at->addr);
    k.port = at->port;
}

// "cluster": {"redis": "127.0.0.1:6379" | "unix:/run/redis/redis.sock", "node": "gw-a",
// "prefix": "xdpknock", "password_file": "...", "timeout_ms": 5, "tls": false}.
void parse_cluster(const json &root, Config &c) {
    if (!root.contains("cluster")) return;
    const json &m = root.at("cluster");
    if (!m.is_object()) fail("config.cluster", "must be an object");
    only_keys(m, "cluster", {"redis", "node", "prefix", "password_file", "timeout_ms", "tls"});
    Cluster &k = c.cluster;
    k.redis = get_string(m, "cluster", "redis", "", true);
    parse_redis_endpoint(k);
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    k.node = get_string(m, "cluster", "node", host, false);
    check_word(k.node, "cluster.node");
    k.prefix = get_string(m, "cluster", "prefix", k.prefix, false);
    check_word(k.prefix, "cluster.prefix");
    k.password_file = get_string(m, "cluster", "password_file", "", false);
    k.timeout_ms =
        static_cast<uint32_t>(get_uint(m, "cluster", "timeout_ms", k.timeout_ms, 1, 1000));
    if (get_bool(m, "cluster", "tls", false)) {
        fail("cluster.tls",
             "not in this build (Debian 12's hiredis 0.14 has no TLS): reach Redis over a unix "
             "socket or loopback, or tunnel it (stunnel, spiped)");
    }
}

}  // namespace

uint32_t entries_per_source(const Range &range, const Config &config) {
    return methods::method_of(range).entries_per_source(range, config);
}

std::vector<std::string> config_warnings(const Config &config) {
    std::vector<std::string> out;
    for (const auto &r : config.ranges) methods::method_of(r).warnings(r, out);
    return out;
}

const char *transport_name(Transport t) {
    switch (t) {
        case Transport::udp:
            return "udp";
        case Transport::tcp:
            return "tcpraw";
        case Transport::icmp:
            return "icmp";
        case Transport::http:
            return "http";
    }
    return "?";
}

std::string format_port(const PortRef &p) {
    if (p.proto == 0) return "*";
    return std::string(p.proto == 6 ? "tcp/" : "udp/") + std::to_string(p.port);
}

const char *interface_name_problem(std::string_view name) {
    if (name.empty() || name.size() >= 16) return "is not 1..15 characters long";
    if (name == "." || name == "..") return "is not an interface name";
    for (char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':')
            return "holds a character an interface name cannot";
    }
    return nullptr;
}

std::vector<PortRef> parse_knockd_sequence(std::string_view text) {
    std::vector<PortRef> steps;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        std::string_view hit = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        while (!hit.empty() && (hit.front() == ' ' || hit.front() == '\t')) hit.remove_prefix(1);
        while (!hit.empty() && (hit.back() == ' ' || hit.back() == '\t')) hit.remove_suffix(1);
        const size_t colon = hit.find(':');
        std::string proto =
            colon == std::string_view::npos ? "tcp" : std::string(hit.substr(colon + 1));
        for (char &c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const PortRef ref = parse_port_ref(proto + "/" + std::string(hit.substr(0, colon)));
        if (ref.proto == 0) throw ConfigError("\"*\" is not a sequence step");
        steps.push_back(ref);
    }
    if (steps.empty()) throw ConfigError("an empty sequence");
    return steps;
}

std::string format_sequence(const std::vector<PortRef> &steps) {
    std::string out;
    for (const auto &s : steps) out += (out.empty() ? "" : ",") + format_port(s);
    return out;
}

PortRef parse_port_ref(std::string_view text) {
    if (text == "*") return {};
    auto slash = text.find('/');
    if (slash == std::string_view::npos) throw ConfigError("expected proto/port, e.g. tcp/22");
    auto proto = text.substr(0, slash), digits = text.substr(slash + 1);
    PortRef ref;
    if (proto == "tcp") {
        ref.proto = 6;
    } else if (proto == "udp") {
        ref.proto = 17;
    } else {
        throw ConfigError("protocol must be tcp or udp");
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
        throw ConfigError("port must be 1..65535");
    }
    ref.port = static_cast<uint16_t>(port);
    return ref;
}

namespace {

// workers, cpus, busy_poll, log_level, knock_rate: how the daemon runs, not what it gates.
void parse_runtime(const json &root, Config &c) {
    c.state_dir = get_string(root, "config", "state_dir", c.state_dir);
    c.workers = static_cast<unsigned>(get_uint(root, "config", "workers", 0, 0, 1024));
    if (root.contains("cpus")) {
        const json &cpus = get_array(root, "config", "cpus", false);
        for (size_t i = 0; i < cpus.size(); ++i) {
            const json &v = cpus[i];
            if (!v.is_number_unsigned() || v.get<uint64_t>() >= 1024) {
                fail("config.cpus[" + std::to_string(i) + "]", "must be a CPU number in [0, 1023]");
            }
            c.cpus.push_back(v.get<unsigned>());
        }
    }
    c.busy_poll = get_bool(root, "config", "busy_poll", c.busy_poll);
    c.http_x_forwarded_for =
        get_bool(root, "config", "http_x_forwarded_for", c.http_x_forwarded_for);
    c.log_level = get_string(root, "config", "log_level", c.log_level);
    if (!one_of(c.log_level, {"debug", "info", "warn", "error"})) {
        fail("config.log_level", "must be debug, info, warn or error");
    }
    if (root.contains("knock_rate")) {
        const json &rate = root.at("knock_rate");
        only_keys(rate, "knock_rate", {"per_source_pps", "burst"});
        // 1 s per token at most: the BPF side holds the interval in 32-bit nanoseconds.
        c.knock_rate.per_source_pps = static_cast<uint32_t>(get_uint(
            rate, "knock_rate", "per_source_pps", c.knock_rate.per_source_pps, 1, 1000000));
        c.knock_rate.burst = static_cast<uint32_t>(
            get_uint(rate, "knock_rate", "burst", c.knock_rate.burst, 1, 1000000));
    }
}

Interface parse_interface(const json &j, const std::string &p) {
    only_keys(j, p, {"name", "xdp_mode", "gate"});
    Interface iface;
    iface.gate = config_gate::parse_gate(j, p);
    iface.name = get_string(j, p, "name", "", true);
    if (const char *problem = interface_name_problem(iface.name)) fail(p + ".name", problem);
    std::string mode = get_string(j, p, "xdp_mode", "auto");
    if (mode == "auto") {
        iface.mode = XdpMode::automatic;
    } else if (mode == "native") {
        iface.mode = XdpMode::native;
    } else if (mode == "generic") {
        iface.mode = XdpMode::generic;
    } else {
        fail(p + ".xdp_mode", "must be auto, native or generic");
    }
    return iface;
}

Service parse_service(const json &j, const std::string &p, const Config &c) {
    only_keys(j, p, {"name", "port", "host", "address"});
    Service s;
    s.name = get_string(j, p, "name", "", true);
    try {
        s.port = parse_port_ref(get_string(j, p, "port", "", true));
    } catch (const ConfigError &e) {
        fail(p + ".port", e.what());
    }
    if (s.port.proto == 0) fail(p + ".port", "must be tcp/PORT or udp/PORT");
    parse_service_host(j, p, c, s);
    // Wake-on-LAN waits for an authorized SYN (KNOCK-AND-WAKE.md); UDP has none.
    if (s.host >= 0 && s.port.proto != 6) fail(p + ".host", "only a tcp service wakes a host");
    return s;
}

// "<what>[i].name" must not repeat an earlier one's.
template <typename T>
void unique_names(const std::vector<T> &items, const char *what) {
    for (size_t i = 0; i < items.size(); ++i) {
        for (size_t k = 0; k < i; ++k) {
            if (items[k].name == items[i].name) {
                fail(std::string(what) + "[" + std::to_string(i) + "].name",
                     std::string("duplicates ") + what + "[" + std::to_string(k) + "]");
            }
        }
    }
}

}  // namespace

Config parse_config(std::string_view json_text) {
    const json root = parse_json(json_text, "config");
    only_keys(root, "config",
              {"interfaces", "ranges", "services", "hosts", "state_dir", "workers", "cpus",
               "busy_poll", "log_level", "knock_rate", "authorized_max", "flow_idle_timeout",
               "udp_timeout", "udp_stream_timeout", "replay_capacity", "umem_frames", "metrics",
               "http_x_forwarded_for", "cluster"});
    Config c;
    parse_limits(root, c);
    parse_metrics(root, c);
    parse_cluster(root, c);
    parse_runtime(root, c);
    const json &ifaces = get_array(root, "config", "interfaces", true);
    if (ifaces.empty()) fail("config.interfaces", "needs at least one interface");
    for (size_t i = 0; i < ifaces.size(); ++i)
        c.interfaces.push_back(parse_interface(ifaces[i], "interfaces[" + std::to_string(i) + "]"));

    const json &hosts = get_array(root, "config", "hosts", false);
    if (hosts.size() >= XK_WAKE_HOSTS_MAX) {
        fail("config.hosts", "at most " + std::to_string(XK_WAKE_HOSTS_MAX - 1) + " hosts");
    }
    for (size_t i = 0; i < hosts.size(); ++i)
        c.hosts.push_back(parse_host(hosts[i], "hosts[" + std::to_string(i) + "]"));
    unique_names(c.hosts, "hosts");

    const json &services = get_array(root, "config", "services", true);
    for (size_t i = 0; i < services.size(); ++i)
        c.services.push_back(parse_service(services[i], "services[" + std::to_string(i) + "]", c));

    const json &ranges = get_array(root, "config", "ranges", true);
    if (ranges.empty()) fail("config.ranges", "needs at least one range");
    for (size_t i = 0; i < ranges.size(); ++i)
        c.ranges.push_back(parse_range(ranges[i], "ranges[" + std::to_string(i) + "]", c.services));
    unique_names(c.ranges, "ranges");
    check_services_are_not_knock_ports(c);
    check_http_ports(c);
    check_sequences(c);
    config_gate::check_gates(c);
    assign_quotas(c);
    return c;
}

std::string read_secret_file(const std::string &path) {
    // Checked on the opened file itself (no symlink, no race), before a byte is parsed:
    // like ssh, we want secrets private and owned by us or root.
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        throw ConfigError(path + ": not a regular file");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
        throw ConfigError(path + ": holds secrets but is accessible by group/others (mode " + mode +
                          "); chmod 600 it");
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        close(fd);
        throw ConfigError(path + ": holds secrets but is owned by uid " +
                          std::to_string(st.st_uid) + " (must be root or us)");
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
    close(fd);
    if (n < 0) throw ConfigError(path + ": cannot read");
    return text;
}

Config load_config(const std::string &path) {
    // Every range holds secrets.
    return parse_config(read_secret_file(path));
}

}  // namespace xk::policy
