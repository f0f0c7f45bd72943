// xdpknock-replay: sends a pcap's frames (and/or synthesized fko-shaped junk) from the lab's
// client namespace out of its veth to the gateway, at a set or the maximum rate, bounded by
// a count and a time. Prints one JSON line: frames offered and the rate really reached.
//
// Engine choice (2026-11-22, bench/results/2026-11-22-flood.md; lab up, daemon attached,
// fko-shaped junk, 4 s each, unpinned): AF_PACKET + PACKET_QDISC_BYPASS + sendmmsg 441k and
// 425k frames/s; AF_XDP copy-mode TX 892k once, then 431k. On a veth both end in the same
// per-frame skb xmit (copy mode adds a UMEM copy and a kick per batch), so the AF_XDP peak
// did not repeat; AF_PACKET is the default because it is as fast in steady state, needs no
// UMEM, and its tx queue (= gw-out's rx queue) follows the sending CPU, so `taskset` picks
// the queue, while an AF_XDP socket feeds the one queue it is bound to (--engine xdp --queue).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "replay/frame_pool.hpp"
#include "replay/lab_sender.hpp"

namespace {

using Clock = std::chrono::steady_clock;

xk::replay::Mac parse_mac(const std::string &text) {
    xk::replay::Mac m{};
    unsigned b[6];
    if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
        throw std::invalid_argument("--dst-mac: expected aa:bb:cc:dd:ee:ff");
    for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(b[i]);
    return m;
}

uint64_t tx_dropped(const std::string &ifname) {
    std::ifstream f("/sys/class/net/" + ifname + "/statistics/tx_dropped");
    uint64_t v = 0;
    f >> v;
    return v;
}

int run(int argc, char **argv) {
    CLI::App app{"xdpknock-replay: inject frames into the netns lab (only out of a veth)"};
    std::string ifname = "xk-c", pcap, dst_mac, engine = "packet", net4, net6, junk_net;
    std::string junk_dst = "10.99.0.1";
    double rate = 0, seconds = 10;
    uint64_t count = 0, junk = 0, seed = 1;
    uint32_t queue = 0;
    uint16_t port = 62201;
    app.add_option("-i,--interface", ifname, "lab veth to send from (default xk-c)");
    app.add_option("--pcap", pcap, "Ethernet capture whose frames are sent, in order");
    app.add_option("--fko-junk", junk, "add N fko-shaped junk frames from N distinct sources");
    app.add_option("--junk-net", junk_net, "sources of the junk (e.g. 10.99.128.0/17)");
    app.add_option("--junk-dst", junk_dst, "destination address of the junk");
    app.add_option("--port", port, "knock port the junk goes to");
    app.add_option("--seed", seed, "junk payloads and ports");
    app.add_option("--dst-mac", dst_mac, "gateway MAC (gw-out)")->required();
    app.add_option("--src-net", net4, "rewrite IPv4 sources into this range");
    app.add_option("--src-net6", net6, "rewrite IPv6 sources into this range (prefix <= 64)");
    app.add_option("--rate", rate, "frames per second; 0 = as fast as possible");
    app.add_option("--count", count, "frames to send; 0 = each frame once (loops if larger)");
    app.add_option("--seconds", seconds, "stop after this long")->check(CLI::Range(0.01, 600.0));
    app.add_option("--engine", engine, "packet (AF_PACKET, qdisc bypass) or xdp (AF_XDP TX)")
        ->check(CLI::IsMember({"packet", "xdp"}));
    app.add_option("--queue", queue, "xdp engine: tx queue (= the peer's rx queue)");
    CLI11_PARSE(app, argc, argv);

    xk::replay::require_lab_veth(ifname);
    xk::replay::FramePool pool;
    if (!pcap.empty()) pool.load_pcap(pcap);
    if (junk) {
        if (junk_net.empty()) throw std::invalid_argument("--fko-junk needs --junk-net");
        pool.add_fko_junk(junk, xk::replay::parse_source_net(junk_net), junk_dst, port, seed);
    }
    if (pool.size() == 0) throw std::invalid_argument("no frames (give --pcap and/or --fko-junk)");
    xk::replay::RewriteOptions rw;
    rw.dst_mac = parse_mac(dst_mac);
    rw.src_mac = xk::replay::interface_mac(ifname);
    if (!net4.empty()) rw.net4 = xk::replay::parse_source_net(net4);
    if (!net6.empty()) rw.net6 = xk::replay::parse_source_net(net6);
    pool.rewrite(rw);
    if (count == 0) count = pool.size();

    auto sender = engine == "xdp" ? xk::replay::open_xdp_sender(ifname, queue)
                                  : xk::replay::open_packet_sender(ifname);
    uint64_t dropped_before = tx_dropped(ifname);
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(seconds);
    uint64_t sent = 0, stalls = 0;
    while (sent < count) {
        auto now = Clock::now();
        if (now >= deadline) break;
        size_t want = count - sent < 64 ? count - sent : 64;
        if (rate > 0) {
            // Paced: frame k is due at start + k / rate; send what is due, sleep otherwise.
            double elapsed = std::chrono::duration<double>(now - start).count();
            auto due = static_cast<uint64_t>(elapsed * rate) + 1;
            if (due <= sent) {
                std::this_thread::sleep_for(std::chrono::microseconds(50));
                continue;
            }
            if (due - sent < want) want = due - sent;
        }
        size_t n = sender->send(pool, sent % pool.size(), want);
        if (n == 0) ++stalls;
        sent += n;
    }
    sender->flush();
    double took = std::chrono::duration<double>(Clock::now() - start).count();
    nlohmann::json out = {{"engine", engine},
                          {"interface", ifname},
                          {"frames_in_pool", pool.size()},
                          {"offered", sent},
                          {"seconds", took},
                          {"rate_pps", took > 0 ? static_cast<double>(sent) / took : 0.0},
                          {"target_pps", rate},
                          {"tx_dropped", tx_dropped(ifname) - dropped_before},
                          {"stalls", stalls}};
    printf("%s\n", out.dump().c_str());
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception &e) {
        fprintf(stderr, "xdpknock-replay: %s\n", e.what());
        return 1;
    }
}
