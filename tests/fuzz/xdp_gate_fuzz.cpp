// libFuzzer target: the XDP gate itself, loaded by the production loader (tests/bpf
// LoadedGate) into the BPF test catalogue's world, run by BPF_PROG_TEST_RUN on each input.
// The first byte picks the gate: Ethernet (an AF_XDP socket bound, so knocks redirect) or a
// raw-IP link (no socket: a knock that passes the pre-filter shows as DROP + knock_no_socket).
// Every run must hold, else abort():
//   - exactly one decision counter moves, by one, and it is the one this frame may get, as
//     parse.h and the world (ports, grants, flows seen) say; it agrees with the XDP action;
//   - only a knock candidate is ever redirected: UDP to a knock port, a SYN to a tcpraw knock
//     port, an ICMP echo where a range takes icmp knocks;
//   - TCP or UDP to a sequence step port (the catalogue's "seq" range) is always dropped and
//     counts one of the sequence counters, never a knock's or a pass;
//   - a SYN (SYN && !ACK) to a protected port passes only if its source holds a live grant for
//     that port (or every port), by parse.h and by a reading written apart (fuzz_frame.hpp);
//     other TCP to it passes only with a grant or in a flow the gate let open;
//   - UDP to a protected UDP port passes only with a live grant for it (or every port) or in
//     a UDP flow such a grant opened;
//   - a wake counter moves only beside syn_pass, to a port with a wake host.
// Needs root and bpffs.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "../bpf/gate_frames.hpp"
#include "../bpf/loaded_gate.hpp"
#include "fuzz_frame.hpp"
#include "xdpknock/parse.h"
#include "xsk/xsk_socket.hpp"

namespace {

using namespace xk::test;

// A frame up to an Ethernet MTU with two VLAN tags, and room to spare.
constexpr size_t kMaxFrame = 1600;
constexpr uint32_t kLongGrantS = 30 * 86400;  // outlives any fuzzing run
constexpr uint32_t kNone = XK_CNT__MAX;

// Which of the program's actions and counters an input reached: libFuzzer's coverage cannot
// see inside the BPF program, so these count as coverage (new verdict = new input).
__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t gVerdicts[2][XK_CNT__MAX][3];

using FlowKey = std::array<uint8_t, 36>;

struct GateUnderTest {
    LoadedGate *gate = nullptr;
    bool rawIp = false;
    std::unique_ptr<xk::xsk::XskSocket> xsk;  // Ethernet only: knocks then redirect
    Counters last{};
    std::set<FlowKey> flows;     // flows the gate may have opened (a grant holder's TCP passed)
    std::set<FlowKey> udpFlows;  // likewise for UDP (a grant holder's datagram passed)
};

struct World {
    std::vector<xk_port> ports = std::vector<xk_port>(XK_PORTS_MAX);
    GateUnderTest gates[2];
    uint64_t runs = 0;
};

Counters readCounters(int fd) {
    static const int ncpu = libbpf_num_possible_cpus();
    static std::vector<uint64_t> values(size_t(ncpu) * XK_CNT__MAX);
    uint32_t keys[XK_CNT__MAX], count = XK_CNT__MAX, next = 0;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    const int rc = bpf_map_lookup_batch(fd, nullptr, &next, keys, values.data(), &count, &opts);
    if ((rc != 0 && errno != ENOENT) || count != XK_CNT__MAX) {
        std::fprintf(stderr, "xdp_gate_fuzz: counters batch read: rc %d, %u entries\n", rc, count);
        std::abort();
    }
    Counters out{};
    for (uint32_t i = 0; i < count; ++i)
        for (int c = 0; c < ncpu; ++c) out[keys[i]] += values[size_t(i) * ncpu + c];
    return out;
}

// 1 live, -1 expired, 0 none: the catalogue's grants, judged as the gate's grant() does (a
// live grant for the proto/port, else the every-port one's state, else the port's).
int grantState(const uint8_t *saddr, uint8_t proto, uint16_t dport) {
    int port = 0, every = 0;
    for (const AuthGrant &g : authGrants()) {
        if (std::memcmp(gateAddr(g.addr).data(), saddr, 16) != 0) continue;
        const int state = g.expired ? -1 : 1;
        if (g.proto == proto && g.port == dport) port = state;
        if (g.proto == 0 && g.port == 0) every = state;
    }
    if (port > 0) return port;
    return every != 0 ? every : port;
}

void setUpGate(GateUnderTest &g, bool rawIp) {
    g.rawIp = rawIp;
    g.gate = &catalogGate(rawIp);
    // The catalogue grants for an hour; the oracle assumes live grants stay live.
    for (const AuthGrant &a : authGrants())
        if (!a.expired) g.gate->grant(a.addr, xk::policy::PortRef{a.proto, a.port}, kLongGrantS);
    g.gate->clearFlows();
    g.gate->clearUdpFlows();
    if (!rawIp) {
        try {
            g.xsk = g.gate->bindKnockSocket(0);
        } catch (const std::exception &e) {
            // Another process holds lo's queue 0: knocks then end as knock_no_socket.
            std::fprintf(stderr, "xdp_gate_fuzz: no AF_XDP socket (%s)\n", e.what());
        }
    }
    g.last = readCounters(g.gate->gate().counters_fd());
    if (g.last != g.gate->counters()) {
        std::fprintf(stderr, "xdp_gate_fuzz: batch and single counter reads differ\n");
        std::abort();
    }
}

World &world() {
    static World *w = [] {
        auto *fresh = new World;
        for (bool raw : {false, true}) setUpGate(fresh->gates[raw], raw);
        for (uint32_t p = 0; p < XK_PORTS_MAX; ++p)
            fresh->ports[p] = fresh->gates[0].gate->port(uint16_t(p));
        if (!(fresh->ports[kSshPort].flags & XK_PORT_PROTECT_TCP) ||
            !(fresh->ports[kVpnPort].flags & XK_PORT_PROTECT_UDP) ||
            !(fresh->ports[kKnockPort].flags & XK_PORT_KNOCK_UDP) ||
            !(fresh->ports[kKnockPort].flags & XK_PORT_KNOCK_TCP) ||
            !(fresh->ports[0].flags & XK_PORT_KNOCK_ICMP) ||
            !(fresh->ports[kSeqFirst].flags & XK_PORT_SEQ_TCP) ||
            !(fresh->ports[kSeqMiddle].flags & XK_PORT_SEQ_UDP)) {
            std::fprintf(stderr, "xdp_gate_fuzz: the catalogue world is not in the ports map\n");
            std::abort();
        }
        return fresh;
    }();
    return *w;
}

}  // namespace

namespace {

using Mask = uint64_t;  // one bit per counter a frame may move
static_assert(XK_CNT__MAX <= 64);
constexpr Mask bit(uint32_t counter) {
    return Mask{1} << counter;
}
constexpr Mask kWakeCounters =
    bit(XK_CNT_WAKE_EVENT) | bit(XK_CNT_WAKE_SUPPRESSED) | bit(XK_CNT_WAKE_LOST);
constexpr Mask kSeqCounters =
    bit(XK_CNT_SEQ_STEP) | bit(XK_CNT_SEQ_MISS) | bit(XK_CNT_SEQ_DONE) | bit(XK_CNT_SEQ_LOST);
constexpr Mask kPassCounters =
    bit(XK_CNT_SYN_PASS) | bit(XK_CNT_TCP_PASS) | bit(XK_CNT_UDP_PASS) | bit(XK_CNT_OTHER_PASS) |
    bit(XK_CNT_MALFORMED_PASS) | bit(XK_CNT_FRAGMENT_PASS) | bit(XK_CNT_TCP_FLOW_PASS) |
    bit(XK_CNT_TCP_GRANT_PASS) | bit(XK_CNT_UDP_FLOW_PASS) | bit(XK_CNT_UDP_GRANT_PASS) |
    bit(XK_CNT_HTTP_COPY) | bit(XK_CNT_HTTP_RATE_SKIP) | bit(XK_CNT_HTTP_LOST);

FlowKey flowKey(const uint8_t *saddr, const uint8_t *daddr, uint16_t sport, uint16_t dport) {
    FlowKey k{};
    std::memcpy(k.data(), saddr, 16);
    std::memcpy(k.data() + 16, daddr, 16);
    std::memcpy(k.data() + 32, &sport, 2);
    std::memcpy(k.data() + 34, &dport, 2);
    return k;
}

bool isSyn(uint8_t flags) {
    return (flags & (XK_TCP_SYN | XK_TCP_ACK)) == XK_TCP_SYN;
}

// The gate's knock pre-filter, restated: the counter of the rule the knock breaks, or kNone.
uint32_t knockShape(const xk_port &port, const xk_pkt &p, const uint8_t *f, size_t n) {
    const uint32_t len = p.payload_len;
    if ((port.knock_shapes & XK_KNOCK_PLAIN) && len >= port.plain_min_len &&
        len <= port.plain_max_len) {
        const uint32_t at = len - port.plain_min_len;
        if (at >= XK_PLAIN_LEN_BITS || ((port.plain_lens >> at) & 1)) return kNone;
    }
    if (!(port.knock_shapes & XK_KNOCK_FKO) || len < XK_FKO_MIN_LEN || len > XK_FKO_MAX_LEN)
        return XK_CNT_KNOCK_LEN_DROP;
    if (p.payload_off >= n) return XK_CNT_KNOCK_LEN_DROP;
    const uint8_t c = f[p.payload_off];
    return c == '8' || c == '9' || c == '+' || c == '/' ? kNone : XK_CNT_KNOCK_BYTE_DROP;
}

Mask knockMask(const GateUnderTest &g, const xk_port &port, const xk_pkt &p, const uint8_t *f,
               size_t n) {
    if (p.partial) return bit(XK_CNT_KNOCK_FRAG_DROP);
    const uint32_t junk = knockShape(port, p, f, n);
    if (junk != kNone) return bit(junk);
    Mask m = bit(g.xsk ? XK_CNT_KNOCK_REDIRECT : XK_CNT_KNOCK_NO_SOCKET);
    // Only a port slower than the catalogue's 1 ns per token can run a source dry.
    if (port.rate_interval_ns > kOpenRateIntervalNs) m |= bit(XK_CNT_KNOCK_RATE_DROP);
    return m;
}

Mask tcpMask(const GateUnderTest &g, const xk_port &port, const xk_pkt &p) {
    if (!(port.flags & XK_PORT_PROTECT_TCP)) return bit(XK_CNT_TCP_PASS);
    const int state = grantState(p.saddr, IPPROTO_TCP, p.dport);
    if (isSyn(p.tcp_flags))
        return bit(state > 0 ? XK_CNT_SYN_PASS : state < 0 ? XK_CNT_SYN_EXPIRED : XK_CNT_SYN_DROP);
    Mask m = bit(state > 0 ? XK_CNT_TCP_GRANT_PASS : XK_CNT_TCP_DROP);
    if (g.flows.count(flowKey(p.saddr, p.daddr, p.sport, p.dport))) m |= bit(XK_CNT_TCP_FLOW_PASS);
    return m;
}

// A segment to an http knock port always passes (it is a web server's); one that starts a GET
// of a knock's shape is copied too, unless its source's bucket or the ring is full.
Mask httpMask(const xk_pkt &p, const uint8_t *f, size_t n) {
    static constexpr char kGet[] = "GET /";
    if (p.payload_len < 5 + XK_FKO_MIN_LEN || p.payload_off + 6 > n ||
        std::memcmp(f + p.payload_off, kGet, 5) != 0 ||
        std::strchr("89-_", f[p.payload_off + 5]) == nullptr || f[p.payload_off + 5] == 0)
        return bit(XK_CNT_TCP_PASS);
    return bit(XK_CNT_HTTP_COPY) | bit(XK_CNT_HTTP_RATE_SKIP) | bit(XK_CNT_HTTP_LOST);
}

Mask udpMask(const GateUnderTest &g, const xk_pkt &p) {
    const int state = grantState(p.saddr, IPPROTO_UDP, p.dport);
    Mask m = bit(state > 0   ? XK_CNT_UDP_GRANT_PASS
                 : state < 0 ? XK_CNT_UDP_EXPIRED
                             : XK_CNT_UDP_DROP);
    if (g.udpFlows.count(flowKey(p.saddr, p.daddr, p.sport, p.dport)))
        m |= bit(XK_CNT_UDP_FLOW_PASS);
    return m;
}

bool isIcmp(const xk_pkt &p) {
    return p.l4proto == IPPROTO_ICMP || p.l4proto == IPPROTO_ICMPV6;
}

// What the gate may hand to AF_XDP: UDP to a knock port, TCP to a tcpraw one, ICMP echoes
// where a range takes icmp knocks (ports[0]).
bool isKnockCandidate(const World &w, const xk_pkt &p) {
    const uint16_t flags = w.ports[p.dport].flags;
    if (p.l4proto == IPPROTO_UDP) return flags & XK_PORT_KNOCK_UDP;
    if (p.l4proto == IPPROTO_TCP) return isSyn(p.tcp_flags) && (flags & XK_PORT_KNOCK_TCP);
    return isIcmp(p) && (flags & XK_PORT_KNOCK_ICMP);
}

bool isSeqHit(const xk_port &port, const xk_pkt &p) {
    return port.flags & (p.l4proto == IPPROTO_UDP   ? XK_PORT_SEQ_UDP
                         : p.l4proto == IPPROTO_TCP ? XK_PORT_SEQ_TCP
                                                    : 0);
}

// The counters this frame may move, by parse.h's reading and the world.
Mask expectedMask(const World &w, const GateUnderTest &g, int r, const xk_pkt &p, const uint8_t *f,
                  size_t n) {
    switch (r) {
        case XK_PARSE_NOT_IP:
        case XK_PARSE_NOT_L4:
            return bit(XK_CNT_OTHER_PASS);
        case XK_PARSE_TRUNCATED:
            return bit(XK_CNT_MALFORMED_PASS);
        case XK_PARSE_FRAGMENT:
            return bit(XK_CNT_FRAGMENT_PASS);
        case XK_PARSE_FRAG_SHORT:
            return bit(XK_CNT_FRAGMENT_DROP);
        case XK_PARSE_EXT_DEEP:
            return bit(XK_CNT_IPV6_EXT_DROP);
        case XK_PARSE_VLAN_DEEP:
            return bit(XK_CNT_VLAN_DEEP_DROP);
        case XK_PARSE_MAPPED:
            return bit(XK_CNT_MAPPED_DROP);
        case XK_PARSE_OK:
            break;
        default:
            return 0;
    }
    const xk_port &port = w.ports[p.dport];
    if (isIcmp(p)) {
        // Pings that are no knock pass untouched; ports[0] holds the ICMP knock pre-filter.
        if (!(port.flags & XK_PORT_KNOCK_ICMP) || p.partial || knockShape(port, p, f, n) != kNone)
            return bit(XK_CNT_OTHER_PASS);
        return knockMask(g, port, p, f, n);
    }
    if (p.l4proto == IPPROTO_TCP && isSyn(p.tcp_flags) && (port.flags & XK_PORT_KNOCK_TCP))
        return knockMask(g, port, p, f, n);
    if (p.l4proto == IPPROTO_TCP && !isSyn(p.tcp_flags) && p.payload_len && !p.partial &&
        (port.flags & XK_PORT_KNOCK_HTTP))
        return httpMask(p, f, n);
    if (isSeqHit(port, p)) return kSeqCounters;
    if (p.l4proto == IPPROTO_UDP) {
        if (port.flags & XK_PORT_PROTECT_UDP) return udpMask(g, p);
        return port.flags & XK_PORT_KNOCK_UDP ? knockMask(g, port, p, f, n) : bit(XK_CNT_UDP_PASS);
    }
    return p.l4proto == IPPROTO_TCP ? tcpMask(g, port, p) : 0;
}

uint32_t actionOf(uint32_t counter) {
    if (counter == XK_CNT_KNOCK_REDIRECT) return XDP_REDIRECT;
    return bit(counter) & kPassCounters ? XDP_PASS : XDP_DROP;
}

struct Outcome {
    int parse;
    uint32_t action;
    uint32_t decision;  // the one decision counter that moved, or kNone
    Mask moved;         // every counter that moved
};

[[noreturn]] void violated(const char *what, const GateUnderTest &g, const Outcome &o,
                           const uint8_t *f, size_t n) {
    std::fprintf(
        stderr,
        "xdp_gate_fuzz: %s\n  gate %s, parse %d, action %s, counter %s, moved 0x%llx\n  frame",
        what, g.rawIp ? "raw-IP" : "Ethernet", o.parse, actionName(o.action),
        o.decision == kNone ? "none/several" : counterName(o.decision),
        static_cast<unsigned long long>(o.moved));
    for (size_t i = 0; i < n; ++i) std::fprintf(stderr, " %02x", f[i]);
    std::fprintf(stderr, "\n");
    std::abort();
}

// The same rule read by fuzz_frame.hpp's parser: a TCP segment the stack would take, to a
// protected port, passes only with a grant (a SYN: a live one) or in a flow the gate opened.
void checkStackReading(const World &w, const GateUnderTest &g, const Outcome &o, const uint8_t *f,
                       size_t n) {
    if (o.action != XDP_PASS) return;
    const auto st = xk::fuzz::stackTcp(f, n, g.rawIp);
    if (!st || !(w.ports[st->dport].flags & XK_PORT_PROTECT_TCP)) return;
    const int state = grantState(st->saddr, IPPROTO_TCP, st->dport);
    if (isSyn(st->flags)) {
        if (state <= 0)
            violated("a SYN to a protected port passed without a live grant", g, o, f, n);
    } else if (state <= 0 && !g.flows.count(flowKey(st->saddr, st->daddr, st->sport, st->dport))) {
        violated("TCP to a protected port passed without a grant or a flow", g, o, f, n);
    }
}

void checkCounters(const World &w, const GateUnderTest &g, const Outcome &o, Mask allowed,
                   const xk_pkt &p, const uint8_t *f, size_t n) {
    if (o.decision == kNone) violated("not exactly one decision counter moved by one", g, o, f, n);
    if (!(bit(o.decision) & allowed)) violated("a counter this frame cannot get", g, o, f, n);
    if (actionOf(o.decision) != o.action)
        violated("the action does not match the counter", g, o, f, n);
    if (o.action == XDP_REDIRECT && !(o.parse == XK_PARSE_OK && isKnockCandidate(w, p)))
        violated("redirected, but not a knock candidate", g, o, f, n);
    if (o.parse == XK_PARSE_OK && isSeqHit(w.ports[p.dport], p) && o.action != XDP_DROP)
        violated("a packet to a sequence port was not dropped", g, o, f, n);
    const Mask wake = o.moved & kWakeCounters;
    if (wake && ((wake & (wake - 1)) || o.decision != XK_CNT_SYN_PASS ||
                 !(w.ports[p.dport].wake_host || (w.ports[p.dport].flags & XK_PORT_WAKE_BY_ADDR))))
        violated("a wake counter moved without an authorized SYN to a wake service", g, o, f, n);
}

void runOne(World &w, GateUnderTest &g, const uint8_t *f, size_t n) {
    xk_pkt p{};
    Outcome o{};
    o.parse = xk_parse_frame(f, f + n, &p, g.rawIp);
    const LoadedGate::Run run = g.gate->run({f, n});
    const Counters now = readCounters(g.gate->gate().counters_fd());
    o.action = run.retval;
    o.decision = kNone;
    uint64_t decisions = 0;
    for (uint32_t i = 0; i < XK_CNT__MAX; ++i) {
        const uint64_t d = now[i] - g.last[i];
        if (now[i] < g.last[i] || d > 1)
            violated("a counter went back or moved by more than one", g, o, f, n);
        if (!d) continue;
        o.moved |= bit(i);
        if (!(bit(i) & kWakeCounters)) {
            decisions++;
            o.decision = i;
        }
    }
    g.last = now;
    if (decisions != 1) o.decision = kNone;
    if (run.err) violated("bpf_prog_test_run_opts failed", g, o, f, n);
    gVerdicts[g.rawIp][o.decision == kNone ? 0 : o.decision]
             [o.action == XDP_REDIRECT ? 0 : o.action % 3]++;
    checkCounters(w, g, o, expectedMask(w, g, o.parse, p, f, n), p, f, n);
    checkStackReading(w, g, o, f, n);
    // What the gate may have opened: a grant holder's non-closing TCP (and, near a grant's end,
    // its SYN). A superset is safe: the flow set only ever allows flow_pass.
    if (o.decision == XK_CNT_SYN_PASS ||
        (o.decision == XK_CNT_TCP_GRANT_PASS && !(p.tcp_flags & (XK_TCP_FIN | XK_TCP_RST))))
        g.flows.insert(flowKey(p.saddr, p.daddr, p.sport, p.dport));
    if (o.decision == XK_CNT_UDP_GRANT_PASS)
        g.udpFlows.insert(flowKey(p.saddr, p.daddr, p.sport, p.dport));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    if (geteuid() != 0) {
        std::fprintf(stderr, "xdp_gate_fuzz: needs root (BPF_PROG_TEST_RUN, bpffs)\n");
        std::exit(1);
    }
    world();  // loads both gates now: a failure shows before any input
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // The kernel refuses frames under an Ethernet header's length whatever the link.
    if (size < 1 + ETH_HLEN || size > 1 + kMaxFrame) return -1;
    World &w = world();
    runOne(w, w.gates[data[0] & 1], data + 1, size - 1);
    if (++w.runs % 4096 == 0) {
        // Keep the wake, sequence and http rings from staying full (their _lost counters
        // are allowed, but less telling).
        for (auto &g : w.gates) {
            g.gate->drainWakeEvents();
            g.gate->drainSeqEvents();
            g.gate->drainHttpEvents();
        }
    }
    return 0;
}
