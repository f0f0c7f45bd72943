// ns/packet of the XDP gate for each frame class of the catalog, via BPF_PROG_TEST_RUN
// with a large repeat count. Prints a table, or JSON with --json (for bench/results).
#include <linux/bpf.h>
#include <sys/utsname.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gate_frames.hpp"
#include "xsk/xsk_socket.hpp"
#include "loaded_gate.hpp"

namespace {

using namespace xk::test;

struct Row {
    std::string name;
    uint32_t action;   // what the gate returned
    uint32_t counter;  // what the catalog says it counts
    bool matches;      // action is the catalog's
    double kernelNs;   // median over rounds of the kernel's per-run average
    double cpuNs;      // median over rounds of this thread's CPU time / repeat
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

Row measure(const LoadedGate &gate, const std::string &name, const Bytes &frame,
            uint32_t wantAction, uint32_t counter, uint32_t repeat, int rounds) {
    std::vector<double> kernel, cpu;
    uint32_t action = 0;
    for (int i = 0; i < rounds; i++) {
        const double t0 = threadCpuNs();
        LoadedGate::Run r = gate.run(frame, repeat);
        const double t1 = threadCpuNs();
        if (r.err) throw std::runtime_error(name + ": bpf_prog_test_run_opts failed");
        action = r.retval;
        kernel.push_back(r.durationNs);
        cpu.push_back((t1 - t0) / repeat);
    }
    return {name, action, counter, action == wantAction, median(kernel), median(cpu)};
}

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"ns/packet of the XDP gate per frame class (BPF_PROG_TEST_RUN, no attach)"};
    uint32_t repeat = 1'000'000;
    int rounds = 5;
    bool json = false;
    std::string filter;
    app.add_option("--repeat", repeat, "runs per measurement")->check(CLI::PositiveNumber);
    app.add_option("--rounds", rounds, "measurements per class; the median is reported")
        ->check(CLI::PositiveNumber);
    app.add_option("--filter", filter, "only classes whose name contains this");
    app.add_flag("--json", json, "print JSON instead of a table");
    CLI11_PARSE(app, argc, argv);

    std::vector<Row> rows;
    try {
        LoadedGate gate;
        gate.installCatalogWorld();
        for (const GateCase &c : gateCases()) {
            if (c.frame.size() < 14 || c.name.find(filter) == std::string::npos) continue;
            rows.push_back(measure(gate, c.name, c.frame, c.action, c.counter, repeat, rounds));
        }
        // A source over its bucket on kRatePort: after the burst every run is a rate drop.
        const std::string rateDrop = "knock_v4_rate_drop";
        if (rateDrop.find(filter) != std::string::npos) {
            const Bytes knock = PacketBuilder()
                                    .eth()
                                    .ipv4("192.0.2.99", kV4Gateway)
                                    .udp(40000, kRatePort)
                                    .payload(fkoShaped())
                                    .build();
            gate.run(knock, kRateBurst);  // spend the burst
            rows.push_back(
                measure(gate, rateDrop, knock, XDP_DROP, XK_CNT_KNOCK_RATE_DROP, repeat, rounds));
        }
        // The redirect path needs a bound AF_XDP socket in xsks[0].
        const std::string redirect = "knock_v4_redirect";
        if (redirect.find(filter) != std::string::npos) {
            const auto xsk = gate.bindKnockSocket(0);
            rows.push_back(measure(gate, redirect, gateCase("knock_v4").frame, XDP_REDIRECT,
                                   XK_CNT_KNOCK_REDIRECT, repeat, rounds));
            gate.clearXsk(0);
        }
    } catch (const std::exception &e) {
        std::cerr << "bpf_gate_perf: " << e.what() << " (needs root)\n";
        return 2;
    }

    bool allMatch = std::all_of(rows.begin(), rows.end(), [](const Row &r) { return r.matches; });
    utsname uts{};
    uname(&uts);
    if (json) {
        std::string command;
        for (int i = 0; i < argc; i++) command += (i ? " " : "") + std::string(argv[i]);
        nlohmann::json out = {{"tool", "bpf_gate_perf"},
                              {"command", command},
                              {"kernel", uts.release},
                              {"cpu", cpuModel()},
                              {"repeat", repeat},
                              {"rounds", rounds},
                              {"results", nlohmann::json::array()}};
        for (const Row &r : rows)
            out["results"].push_back({{"class", r.name},
                                      {"action", actionName(r.action)},
                                      {"counter", counterName(r.counter)},
                                      {"action_as_expected", r.matches},
                                      {"kernel_ns_per_packet", r.kernelNs},
                                      {"cpu_ns_per_packet", std::round(r.cpuNs * 100) / 100}});
        std::cout << out.dump(2) << "\n";
    } else {
        std::printf("kernel %s, cpu %s, repeat %u, median of %d rounds\n", uts.release,
                    cpuModel().c_str(), repeat, rounds);
        std::printf("%-30s %-9s %-16s %10s %10s\n", "class", "action", "counter", "kernel_ns",
                    "cpu_ns");
        for (const Row &r : rows)
            std::printf("%-30s %-9s %-16s %10.0f %10.2f%s\n", r.name.c_str(), actionName(r.action),
                        counterName(r.counter), r.kernelNs, r.cpuNs,
                        r.matches ? "" : "  UNEXPECTED ACTION");
    }
    return allMatch ? 0 : 1;
}
