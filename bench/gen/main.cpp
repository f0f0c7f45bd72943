// xdpknock-gen: writes an Ethernet pcap with a chosen mix of knocks and other traffic,
// deterministic by --seed, for `xdpknockd --pcap --dry-run`, fwknopd --pcap-file and
// benchmarks. Prints one JSON line with what it wrote.
#include <pcap/pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "gen/fwknopd_access.hpp"
#include "gen/traffic_mix.hpp"
#include "policy/config.hpp"

namespace {

using xk::gen::FrameKind;

const xk::policy::Range *find_range(const xk::policy::Config &c, const std::string &name) {
    for (const auto &r : c.ranges)
        if (r.name == name) return &r;
    return nullptr;
}

const xk::policy::Range *first_range(const xk::policy::Config &c, xk::policy::Method m) {
    for (const auto &r : c.ranges)
        if (r.method == m) return &r;
    return nullptr;
}

int run(int argc, char **argv) {
    CLI::App app{"xdpknock-gen: write a deterministic pcap of knocks and other traffic"};
    std::string config_path, range_name, plain_range_name, secret_label, out_path, access_path;
    uint64_t seed = 1, n_fko = 0, n_plain = 0, n_replay = 0, n_junk = 0, n_syn = 0, n_bg = 0;
    double ipv6_share = 0.2;
    int64_t start = 0;
    uint32_t gap_us = 10;
    app.add_option("--config", config_path, "xdpknock config holding the range's secrets")
        ->required();
    app.add_option("--range", range_name, "fko range the knocks are for (default: the first)");
    app.add_option("--secret", secret_label, "label of the range's secret (default: the first)");
    app.add_option("--plain-range", plain_range_name, "plain range (default: the first)");
    app.add_option("--out", out_path, "pcap to write");
    app.add_option("--seed", seed, "same seed, same capture");
    app.add_option("--fko", n_fko, "valid fko knocks (distinct sources)");
    app.add_option("--plain", n_plain, "valid plain knocks");
    app.add_option("--replay", n_replay, "byte-identical copies of earlier fko knocks");
    app.add_option("--junk", n_junk,
                   "junk to the knock port: base64-like, random, empty, oversize");
    app.add_option("--syn", n_syn, "TCP SYNs to protected and other ports");
    app.add_option("--background", n_bg, "TCP ACK / UDP to other ports");
    app.add_option("--ipv6-share", ipv6_share, "share of IPv6 sources")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--time", start, "capture time of the first frame, Unix seconds (default now)");
    app.add_option("--gap-us", gap_us, "capture time between frames")
        ->check(CLI::Range(1u, 1000000u));
    app.add_option("--fwknopd-access", access_path, "also write the matching fwknopd access.conf");
    CLI11_PARSE(app, argc, argv);
    if (out_path.empty() && access_path.empty()) {
        fprintf(stderr, "xdpknock-gen: nothing to do (give --out and/or --fwknopd-access)\n");
        return 2;
    }

    auto config = xk::policy::load_config(config_path);
    const xk::policy::Range *fko = range_name.empty() ? first_range(config, xk::policy::Method::fko)
                                                      : find_range(config, range_name);
    if (!range_name.empty() && (!fko || fko->method != xk::policy::Method::fko)) {
        fprintf(stderr, "xdpknock-gen: no fko range named '%s'\n", range_name.c_str());
        return 2;
    }
    const xk::policy::Secret *secret = nullptr;
    if (fko) {
        secret = &fko->secrets.front();
        if (!secret_label.empty()) {
            auto it = std::find_if(fko->secrets.begin(), fko->secrets.end(),
                                   [&](const auto &s) { return s.label == secret_label; });
            if (it == fko->secrets.end()) {
                fprintf(stderr, "xdpknock-gen: range %s has no secret '%s'\n", fko->name.c_str(),
                        secret_label.c_str());
                return 2;
            }
            secret = &*it;
        }
    }
    const xk::policy::Range *plain = plain_range_name.empty()
                                         ? first_range(config, xk::policy::Method::plain)
                                         : find_range(config, plain_range_name);
    if (!plain_range_name.empty() && (!plain || plain->method != xk::policy::Method::plain)) {
        fprintf(stderr, "xdpknock-gen: no plain range named '%s'\n", plain_range_name.c_str());
        return 2;
    }
    if ((n_fko || n_replay || !access_path.empty()) && !fko) {
        fprintf(stderr,
                "xdpknock-gen: fko knocks, replays and --fwknopd-access need an fko range\n");
        return 2;
    }
    if (n_plain && !plain) {
        fprintf(stderr, "xdpknock-gen: plain knocks need a plain range\n");
        return 2;
    }
    if (n_replay && !n_fko) {
        fprintf(stderr, "xdpknock-gen: replays copy fko knocks: give --fko too\n");
        return 2;
    }

    if (!access_path.empty()) {
        std::ofstream a(access_path, std::ios::trunc);
        a << xk::gen::fwknopd_access_stanza(config, *fko, *secret);
        if (!a.good()) {
            fprintf(stderr, "xdpknock-gen: cannot write %s\n", access_path.c_str());
            return 1;
        }
        a.close();
        chmod(access_path.c_str(), 0600);  // it holds the keys
    }
    if (out_path.empty()) return 0;

    // The order of kinds is one seeded shuffle; the mix's own RNG fills in the frames.
    std::vector<FrameKind> order;
    auto add = [&](FrameKind k, uint64_t n) { order.insert(order.end(), n, k); };
    add(FrameKind::fko, n_fko);
    add(FrameKind::plain, n_plain);
    add(FrameKind::replay, n_replay);
    add(FrameKind::junk, n_junk);
    add(FrameKind::syn, n_syn);
    add(FrameKind::background, n_bg);
    std::mt19937_64 shuffle_rng(seed ^ 0x5eedf00dull);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_rng() % i]);

    xk::gen::MixOptions opts;
    opts.seed = seed;
    opts.ipv6_share = ipv6_share;
    opts.start_unix = start ? start : static_cast<int64_t>(time(nullptr));
    opts.gap_us = gap_us;
    xk::gen::TrafficMix mix(config, fko, secret, plain, opts);

    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *dumper = pcap_dump_open(dead, out_path.c_str());
    if (!dumper) {
        fprintf(stderr, "xdpknock-gen: %s\n", pcap_geterr(dead));
        pcap_close(dead);
        return 1;
    }
    std::vector<uint8_t> frame;
    uint64_t frames = 0;
    auto write = [&](FrameKind k) {
        int64_t sec = 0;
        uint32_t usec = 0;
        if (!mix.next(k, frame, sec, usec)) return false;
        pcap_pkthdr h{};
        h.ts.tv_sec = sec;
        h.ts.tv_usec = usec;
        h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
        pcap_dump(reinterpret_cast<u_char *>(dumper), &h, frame.data());
        ++frames;
        return true;
    };
    // A replay drawn before any fko knock exists waits until the end.
    uint64_t deferred = 0;
    for (FrameKind k : order)
        if (!write(k)) ++deferred;
    for (; deferred; --deferred) write(FrameKind::replay);
    pcap_dump_close(dumper);
    pcap_close(dead);

    // What fwknopd's "udp port N" filter passes, i.e. the value its -C needs to stop at the end.
    uint16_t knock_port = fko ? fko->port : plain ? plain->port : config.ranges[0].port;
    uint64_t to_knock_port =
        n_fko + n_replay + n_junk + (plain && plain->port == knock_port ? n_plain : 0);
    nlohmann::json summary = {{"out", out_path},
                              {"frames", frames},
                              {"knock_port", knock_port},
                              {"to_knock_port", to_knock_port},
                              {"fko", n_fko},
                              {"plain", n_plain},
                              {"replay", n_replay},
                              {"junk", n_junk},
                              {"syn", n_syn},
                              {"background", n_bg},
                              {"seed", seed},
                              {"time", opts.start_unix},
                              {"range", fko     ? fko->name
                                        : plain ? plain->name
                                                : ""},
                              {"secret", secret ? secret->label : ""},
                              {"mode", secret ? xk::spa::mode_name(secret->fko.mode) : ""},
                              {"hmac", secret ? xk::spa::hmac_name(secret->fko.hmac) : ""}};
    printf("%s\n", summary.dump().c_str());
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        fprintf(stderr, "xdpknock-gen: %s\n", e.what());
        return 1;
    }
}
