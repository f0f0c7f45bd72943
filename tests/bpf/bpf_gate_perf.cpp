// ns/packet of the XDP gate for each frame class of the catalog, via BPF_PROG_TEST_RUN
// with a large repeat count, and the ratios issue 10 sets goals for (each class over the
// ARP pass path of the same run). Prints a table, or JSON with --json (for bench/results).
// A large repeat is a flood of one frame: per-tick work (the coarse clock, the knock stamps'
// budget of exact clock reads) is spread over it, as in a real flood. A knock below a flood
// also pays one exact clock read for its stamp (bench/results/2026-11-30-gate-round2.md).
#include <linux/bpf.h>
#include <linux/in.h>
#include <sys/utsname.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/authorized.hpp"
#include "gate_frames.hpp"
#include "loaded_gate.hpp"
#include "policy/address.hpp"
#include "xsk/xsk_socket.hpp"

namespace {

using namespace xk::test;

struct Row {
    std::string name;
    uint32_t action;   // what the gate returned
    uint32_t counter;  // what the catalog says it counts
    bool matches;      // action is the catalog's
    double kernelNs;   // median over rounds of the kernel's per-run average
    double cpuNs;      // median over rounds of this thread's CPU time / repeat
    double vsArp;      // median over rounds of kernelNs / the ARP frame's, run just before
};

// CPU time, not wall time: on a busy box the test run is preempted at scheduler ticks,
// and only time actually spent running belongs to the packet cost.
double threadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Each round runs the ARP frame (the pass path the goals are ratios to) right before the
// class, so a ratio compares two runs under the same load on a shared box.
Row measure(const LoadedGate &gate, const std::string &name, const Bytes &frame,
            uint32_t wantAction, uint32_t counter, uint32_t repeat, int rounds) {
    std::vector<double> kernel, cpu, vsArp;
    uint32_t action = 0;
    for (int i = 0; i < rounds; i++) {
        const LoadedGate::Run arp = gate.run(gateCase("arp").frame, repeat);
        const double t0 = threadCpuNs();
        LoadedGate::Run r = gate.run(frame, repeat);
        const double t1 = threadCpuNs();
        if (r.err) throw std::runtime_error(name + ": bpf_prog_test_run_opts failed");
        action = r.retval;
        kernel.push_back(r.durationNs);
        cpu.push_back((t1 - t0) / repeat);
        vsArp.push_back(arp.durationNs ? double(r.durationNs) / arp.durationNs : 0);
    }
    return {name,           action,      counter,      action == wantAction,
            median(kernel), median(cpu), median(vsArp)};
}

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

struct Options {
    uint32_t repeat = 1'000'000;
    int rounds = 5;
    bool json = false;
    std::string filter;
    uint32_t populate = 0;
};

bool wanted(const Options &o, const std::string &name) {
    return name.find(o.filter) != std::string::npos;
}

// Knocks: a source over its bucket, and the redirect path (a bound AF_XDP socket).
void measureKnocks(LoadedGate &gate, const Options &o, std::vector<Row> &rows) {
    const std::string rateDrop = "knock_v4_rate_drop";
    if (wanted(o, rateDrop)) {
        const Bytes knock = PacketBuilder()
                                .eth()
                                .ipv4("192.0.2.99", kV4Gateway)
                                .udp(40000, kRatePort)
                                .payload(fkoShaped())
                                .build();
        gate.run(knock, kRateBurst);  // spend the burst: after it every run is a rate drop
        rows.push_back(
            measure(gate, rateDrop, knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP, o.repeat, o.rounds));
    }
    const auto xsk = gate.bindKnockSocket(0);
    for (const char *family : {"v4", "v6"}) {
        const std::string name = std::string("knock_") + family + "_redirect";
        const Bytes &frame = gateCase(std::string("knock_") + family).frame;
        if (wanted(o, name))
            rows.push_back(measure(gate, name, frame, XDP_REDIRECT, XK_CNT_KNOCK_REDIRECT, o.repeat,
                                   o.rounds));
    }
    gate.clearXsk(0);
}

// One run each of frames only a fresh source can send (a sequence's first hit, its
// completion): the median of the kernel's per-run time, beside ARP measured the same way.
Row measureOnce(const LoadedGate &gate, const std::string &name, uint32_t wantAction,
                uint32_t counter, uint32_t sources, const std::function<Bytes(uint32_t)> &frame,
                const std::function<void(uint32_t)> &before = {}) {
    std::vector<double> kernel, arp;
    uint32_t action = 0;
    for (uint32_t i = 0; i < sources; i++) {
        if (before) before(i);
        arp.push_back(gate.run(gateCase("arp").frame).durationNs);
        const LoadedGate::Run r = gate.run(frame(i));
        if (r.err) throw std::runtime_error(name + ": bpf_prog_test_run_opts failed");
        action = r.retval;
        kernel.push_back(r.durationNs);
    }
    const double k = median(kernel), a = median(arp);
    return {name, action, counter, action == wantAction, k, 0, a ? k / a : 0};
}

// Sequence hits on the catalog's "seq" range: a flood of one source's repeated first hit
// (progress found, ignored), then fresh sources' first hits (progress written) and
// completions (a ring buffer record), one run each.
void measureSequences(LoadedGate &gate, const Options &o, std::vector<Row> &rows) {
    auto seqFrame = [](uint32_t i, bool udp, uint16_t port) {
        const std::string src =
            "10.77." + std::to_string(i >> 8 & 255) + "." + std::to_string(i & 255);
        PacketBuilder b = PacketBuilder().eth().ipv4(src, kV4Gateway);
        return udp ? b.udp(40000, port).build() : b.tcp(40000, port, kTcpSyn).build();
    };
    const std::string repeat = "seq_repeat_first_step";
    if (wanted(o, repeat))
        rows.push_back(measure(gate, repeat, seqFrame(1u << 16, false, kSeqFirst), XDP_DROP,
                               XK_CNT_SEQ_MISS, o.repeat, o.rounds));
    const uint32_t sources = std::min<uint32_t>(o.repeat, 20000);
    if (wanted(o, "seq_first_step"))
        rows.push_back(measureOnce(gate, "seq_first_step", XDP_DROP, XK_CNT_SEQ_STEP, sources,
                                   [&](uint32_t i) { return seqFrame(i, false, kSeqFirst); }));
    if (wanted(o, "seq_done")) {
        auto twoSteps = [&](uint32_t i) {
            gate.run(seqFrame(i + sources, false, kSeqFirst));
            gate.run(seqFrame(i + sources, true, kSeqMiddle));
            if (i % 4096 == 0) gate.drainSeqEvents();  // keep the ring from filling
        };
        rows.push_back(measureOnce(
            gate, "seq_done", XDP_DROP, XK_CNT_SEQ_DONE, sources,
            [&](uint32_t i) { return seqFrame(i + sources, false, kSeqLast); }, twoSteps));
        gate.drainSeqEvents();
    }
}

// Grants for n distinct sources (tcp/22, an hour) through the production store.
double populate(LoadedGate &gate, uint32_t n) {
    const auto t0 = std::chrono::steady_clock::now();
    const xk::policy::PortRef ssh{IPPROTO_TCP, kSshPort};
    for (uint32_t i = 0; i < n; i++) {
        // 10.0.0.0/8 then 2001:db8:ff::/48: none of the catalog's addresses.
        std::string addr = i < (1u << 24)
                               ? "10." + std::to_string(i >> 16) + "." +
                                     std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255)
                               : "2001:db8:ff::" + std::to_string(i);
        if (int rc = gate.store().grant(*xk::policy::parse_address(addr), {&ssh, 1}, 3600, 0, 0))
            throw std::runtime_error("populate: grant " + addr + " failed: " + std::to_string(rc));
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

const char *const kPopulatedClasses[] = {"syn_auth_port", "syn_v6_auth", "syn_unauth",
                                         "syn_v6_unauth"};

// The SYN classes on a second gate holding n more live entries, measured in turns with the
// first gate (same load on the box for both): the map's size must not cost a SYN.
void measurePopulated(const LoadedGate &gate, const Options &o, std::vector<Row> &rows,
                      nlohmann::json &info) {
    LoadedGate big(false, o.populate + 1024);  // room for the catalog's grants too
    big.installCatalogWorld();
    info["populate_s"] = populate(big, o.populate);
    const auto t0 = std::chrono::steady_clock::now();
    big.store().sweep(monotonicNowNs());  // what the daemon does once a second
    info["sweep_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (const char *name : kPopulatedClasses) {
        const GateCase &c = gateCase(name);
        std::vector<double> small, large;
        uint32_t action = 0;
        for (int i = 0; i < o.rounds; i++) {
            small.push_back(
                measure(gate, name, c.frame, c.action, c.counter, o.repeat, 1).kernelNs);
            Row r = measure(big, name, c.frame, c.action, c.counter, o.repeat, 1);
            large.push_back(r.kernelNs);
            action = r.action;
        }
        info["populated_base_ns"][name] = median(small);
        rows.push_back({std::string(name) + "_populated", action, c.counter, action == c.action,
                        median(large), 0, 0});
    }
}

// The goals: each class over the arp run beside it, and populated SYNs over their
// cost on the catalog-only gate.
nlohmann::json ratios(const std::vector<Row> &rows) {
    auto find = [&](const std::string &n) -> const Row * {
        for (const Row &r : rows)
            if (r.name == n) return &r;
        return nullptr;
    };
    nlohmann::json out = nlohmann::json::object();
    const char *const vsArp[] = {"syn_unauth",        "syn_v6_unauth",    "syn_auth_port",
                                 "syn_v6_auth",       "syn_auth_all_ssh", "fin_scan",
                                 "knock_v4_redirect", "knock_v6_redirect"};
    for (const char *n : vsArp) {
        if (const Row *r = find(n)) out[std::string(n) + "/arp"] = std::round(r->vsArp * 100) / 100;
    }
    return out;
}

// Each populated SYN over the same class on the catalog-only gate, measured in turns.
void populatedRatios(const std::vector<Row> &rows, nlohmann::json &info) {
    if (!info.contains("populated_base_ns")) return;
    for (const Row &r : rows) {
        const std::string base = r.name.substr(0, r.name.rfind("_populated"));
        if (r.name.size() > base.size() && info["populated_base_ns"].contains(base))
            info["ratios"][r.name + "/" + base] =
                std::round(r.kernelNs / info["populated_base_ns"][base].get<double>() * 100) / 100;
    }
}

void printTable(const std::vector<Row> &rows, const nlohmann::json &info, const Options &o) {
    std::printf("kernel %s, cpu %s, repeat %u, median of %d rounds\n",
                info["kernel"].get<std::string>().c_str(), info["cpu"].get<std::string>().c_str(),
                o.repeat, o.rounds);
    std::printf("%-30s %-9s %-16s %10s %10s %6s\n", "class", "action", "counter", "kernel_ns",
                "cpu_ns", "x_arp");
    for (const Row &r : rows)
        std::printf("%-30s %-9s %-16s %10.0f %10.2f %6.2f%s\n", r.name.c_str(),
                    actionName(r.action), counterName(r.counter), r.kernelNs, r.cpuNs, r.vsArp,
                    r.matches ? "" : "  UNEXPECTED ACTION");
    if (info.contains("populate_s"))
        std::printf("populated %u grants in %.1f s; one sweep of them took %.0f ms\n", o.populate,
                    info["populate_s"].get<double>(), info["sweep_ms"].get<double>());
    std::printf(
        "ratios (the issue's goals: each class over arp run beside it, populated over not):\n");
    for (const auto &[k, v] : info["ratios"].items())
        std::printf("  %-45s %5.2fx\n", k.c_str(), v.get<double>());
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"ns/packet of the XDP gate per frame class (BPF_PROG_TEST_RUN, no attach)"};
    Options o;
    app.add_option("--repeat", o.repeat, "runs per measurement")->check(CLI::PositiveNumber);
    app.add_option("--rounds", o.rounds, "measurements per class; the median is reported")
        ->check(CLI::PositiveNumber);
    app.add_option("--filter", o.filter, "only classes whose name contains this");
    app.add_option("--populate", o.populate,
                   "then grant this many more sources and measure the SYN classes again");
    app.add_flag("--json", o.json, "print JSON instead of a table");
    CLI11_PARSE(app, argc, argv);

    std::vector<Row> rows;
    utsname uts{};
    uname(&uts);
    nlohmann::json info = {{"kernel", uts.release}, {"cpu", cpuModel()}};
    try {
        // Room for the catalog's grants besides the populated ones.
        LoadedGate gate(false, std::max<uint32_t>(XK_AUTH_MAX_ENTRIES, o.populate + 1024));
        gate.installCatalogWorld();
        for (const GateCase &c : gateCases()) {
            if (c.frame.size() < 14 || !wanted(o, c.name)) continue;
            rows.push_back(measure(gate, c.name, c.frame, c.action, c.counter, o.repeat, o.rounds));
        }
        measureKnocks(gate, o, rows);
        measureSequences(gate, o, rows);
        if (o.populate) measurePopulated(gate, o, rows, info);
    } catch (const std::exception &e) {
        std::cerr << "bpf_gate_perf: " << e.what() << " (needs root)\n";
        return 2;
    }
    info["ratios"] = ratios(rows);
    populatedRatios(rows, info);

    bool allMatch = std::all_of(rows.begin(), rows.end(), [](const Row &r) { return r.matches; });
    if (o.json) {
        std::string command;
        for (int i = 0; i < argc; i++) command += (i ? " " : "") + std::string(argv[i]);
        nlohmann::json out = {{"tool", "bpf_gate_perf"},
                              {"command", command},
                              {"repeat", o.repeat},
                              {"rounds", o.rounds},
                              {"results", nlohmann::json::array()}};
        out.update(info);
        for (const Row &r : rows)
            out["results"].push_back({{"class", r.name},
                                      {"action", actionName(r.action)},
                                      {"counter", counterName(r.counter)},
                                      {"action_as_expected", r.matches},
                                      {"kernel_ns_per_packet", r.kernelNs},
                                      {"x_arp", std::round(r.vsArp * 100) / 100},
                                      {"cpu_ns_per_packet", std::round(r.cpuNs * 100) / 100}});
        std::cout << out.dump(2) << "\n";
    } else {
        printTable(rows, info, o);
    }
    return allMatch ? 0 : 1;
}
