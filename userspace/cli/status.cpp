#include "cli/status.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "auth/authorized.hpp"
#include "gate/counters.hpp"

namespace xk::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Fd {
    int fd;
    explicit Fd(const std::string &path) : fd(bpf_obj_get(path.c_str())) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

// "native"/"generic" when an XDP program named xdpknock runs on ifname in this netns.
std::string attach_state(const std::string &ifname) {
    int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (ifindex == 0) return "no such interface here";
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (bpf_xdp_query(ifindex, 0, &q) != 0 || q.prog_id == 0) return "not attached";
    int fd = bpf_prog_get_fd_by_id(q.prog_id);
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    bool ours = fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
                std::string(info.name) == "xdpknock";
    if (fd >= 0) close(fd);
    if (!ours) return "other XDP program attached";
    return q.attach_mode == XDP_ATTACHED_SKB ? "generic" : "native";
}

json interface_status(const fs::path &dir) {
    json j = {{"interface", dir.filename().string()}, {"xdp", attach_state(dir.filename())}};
    Fd counters((dir / "counters").string());
    if (counters.fd >= 0) {
        auto c = gate::read_counters(counters.fd);
        for (unsigned i = 0; i < c.size(); ++i) j["counters"][gate::counter_name(i)] = c[i];
    }
    Fd authorized((dir / "authorized").string());
    j["authorized"] = json::array();
    if (authorized.fd >= 0) {
        uint64_t now = auth::monotonic_ns();
        auto entries = auth::Authorized(authorized.fd).list();
        std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
            return a.value.expires_ns > b.value.expires_ns;
        });
        for (const auto &e : entries) {
            int64_t left =
                (static_cast<int64_t>(e.value.expires_ns) - static_cast<int64_t>(now)) / 1000000000;
            j["authorized"].push_back({{"source", policy::format_address(e.addr)},
                                       {"port", policy::format_port(e.port)},
                                       {"seconds_left", left > 0 ? left : 0},
                                       {"expired", left <= 0},
                                       {"range", e.value.range_id},
                                       {"secret", e.value.secret_id}});
        }
    }
    return j;
}

void print_table(const json &all) {
    for (const auto &i : all["interfaces"]) {
        printf("%s  xdp: %s\n", i["interface"].get<std::string>().c_str(),
               i["xdp"].get<std::string>().c_str());
        if (i.contains("counters")) {
            printf("  counters:");
            int col = 0;
            for (const auto &[name, v] : i["counters"].items()) {
                printf("%s %s=%llu", col++ % 4 == 0 ? "\n   " : "", name.c_str(),
                       static_cast<unsigned long long>(v.get<uint64_t>()));
            }
            printf("\n");
        }
        // ring_full: knocks XDP redirected but the queue's socket had no room (back-pressure).
        if (i.contains("queues")) {
            for (const auto &q : i["queues"]) {
                printf(
                    "  queue %u: workers=%u frames=%llu accepted=%llu ring_full=%llu "
                    "rx_dropped=%llu",
                    q["queue"].get<unsigned>(), q.value("workers", 1u),
                    static_cast<unsigned long long>(q["frames"].get<uint64_t>()),
                    static_cast<unsigned long long>(q["accepted"].get<uint64_t>()),
                    static_cast<unsigned long long>(q["ring_full"].get<uint64_t>()),
                    static_cast<unsigned long long>(q["rx_dropped"].get<uint64_t>()));
                if (q.contains("latency") && q["latency"]["count"].get<uint64_t>() > 0) {
                    printf(" knock->authorized p50=%.1fus p99=%.1fus",
                           q["latency"]["p50_us"].get<double>(),
                           q["latency"]["p99_us"].get<double>());
                }
                printf("\n");
            }
        }
        if (i.contains("workers")) {
            printf("  workers (cpu/queue, + = fed by the poller):");
            for (const auto &w : i["workers"]) {
                printf(" %u%sq%u", w["cpu"].get<unsigned>(), w["poller"].get<bool>() ? "/" : "+",
                       w["queue"].get<unsigned>());
            }
            printf("\n");
        }
        printf("  authorized: %zu\n", i["authorized"].size());
        for (const auto &a : i["authorized"]) {
            printf("    %-40s %-9s %5llds left\n", a["source"].get<std::string>().c_str(),
                   a["port"].get<std::string>().c_str(),
                   static_cast<long long>(a["seconds_left"].get<int64_t>()));
        }
    }
}

// Wake hosts, from the daemon's stats.json: awake / asleep as last probed, and the last
// wake with what asked for it.
void print_hosts(const json &hosts) {
    printf("hosts:\n");
    for (const auto &h : hosts) {
        printf("  %-16s %s on %-8s %-7s wakes=%llu already_awake=%llu\n",
               h["name"].get<std::string>().c_str(), h["mac"].get<std::string>().c_str(),
               h["interface"].get<std::string>().c_str(), h["state"].get<std::string>().c_str(),
               static_cast<unsigned long long>(h["wakes"].get<uint64_t>()),
               static_cast<unsigned long long>(h["already_awake"].get<uint64_t>()));
        if (!h.contains("last_wake")) continue;
        const json &w = h["last_wake"];
        time_t at = w["at"].get<int64_t>();
        char when[32];
        strftime(when, sizeof(when), "%F %T", localtime(&at));
        printf("    last wake %s: %s after %llu ms, %u magic packet(s); %s\n", when,
               w["result"].get<std::string>().c_str(),
               static_cast<unsigned long long>(w["ms"].get<uint64_t>()),
               w["magic_packets"].get<unsigned>(), w["trigger"].get<std::string>().c_str());
    }
}

}  // namespace

int run_status(const std::string &pin_root, const std::string &run_dir, bool as_json) {
    json all = {{"interfaces", json::array()}};
    std::error_code ec;
    if (!fs::is_directory(pin_root, ec)) {
        fprintf(stderr, "xdpknock: no gate pinned under %s (is xdpknockd running?)\n",
                pin_root.c_str());
        return 1;
    }
    json daemon;
    std::ifstream stats(run_dir + "/stats.json");
    if (stats) daemon = json::parse(stats, nullptr, false);
    for (const auto &dir : fs::directory_iterator(pin_root, ec)) {
        if (!dir.is_directory()) continue;
        json j = interface_status(dir.path());
        if (daemon.is_object() && daemon.contains("interfaces")) {
            for (const auto &d : daemon["interfaces"]) {
                if (d["interface"] != j["interface"]) continue;
                for (const char *k : {"queues", "workers", "latency"}) {
                    if (d.contains(k)) j[k] = d[k];
                }
            }
        }
        all["interfaces"].push_back(j);
    }
    if (daemon.is_object() && daemon.contains("hosts")) all["hosts"] = daemon["hosts"];
    if (as_json) {
        printf("%s\n", all.dump(2).c_str());
    } else {
        print_table(all);
        if (all.contains("hosts")) print_hosts(all["hosts"]);
    }
    return 0;
}

}  // namespace xk::cli
