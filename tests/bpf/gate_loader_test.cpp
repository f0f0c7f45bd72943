// The production loader (gate::Gate) in a private network namespace: pinned maps are
// reused across loads, replaced only when their shape differs (entries carried over, so an
// upgrade keeps live grants and flows), and never touched by a load that fails; detach is
// what removes them.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gate/counters.hpp"
#include "gate/gate.hpp"
#include "gate/pins.hpp"
#include "require_root.hpp"
#include "xdpknock.skel.h"
#include "xdpknock/maps.h"

namespace xk::gate {
namespace {

class GateLoader : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        static bool in_own_netns = [] {  // lo of a fresh namespace: nothing else is touched
            return unshare(CLONE_NEWNET) == 0 && system("ip link set lo up") == 0;
        }();
        ASSERT_TRUE(in_own_netns);
        root_ = "/sys/fs/bpf/xdpknock-loader-test-" + std::to_string(getpid());
        detach(root_, "lo");
    }
    void TearDown() override {
        if (!root_.empty()) {
            detach(root_, "lo");
            std::filesystem::remove_all(root_);
        }
    }

    GateOptions options(uint32_t authorized_max = 65536) {
        return {"lo", policy::XdpMode::generic, root_, authorized_max, 7200};
    }
    std::string pin(const char *map) { return root_ + "/lo/" + map; }
    // An entry in the pinned authorized map, read back by key.
    static xk_auth_key key() {
        xk_auth_key k{};
        k.addr[10] = k.addr[11] = 0xff;
        k.addr[12] = 192;
        k.addr[15] = 7;
        k.proto = 6;
        k.port = 22;
        return k;
    }
    bool pinned_entry(uint32_t *max_entries = nullptr) {
        int fd = bpf_obj_get(pin("authorized").c_str());
        if (fd < 0) return false;
        xk_auth_key k = key();
        xk_auth_value v{};
        bool found = bpf_map_lookup_elem(fd, &k, &v) == 0 && v.expires_ns == 42;
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (max_entries && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
            *max_entries = info.max_entries;
        close(fd);
        return found;
    }
    std::string root_;
};

TEST_F(GateLoader, PinsOutliveTheLoaderAndAreReused) {
    {
        auto g = Gate::attach(options());
        xk_auth_key k = key();
        xk_auth_value v{42, 0, 0};
        ASSERT_EQ(bpf_map_update_elem(g->authorized_fd(), &k, &v, BPF_ANY), 0);
        EXPECT_FALSE(g->raw_ip());  // loopback frames carry an Ethernet header
    }
    EXPECT_TRUE(pinned_entry());
    auto again = Gate::attach(options());
    xk_auth_key k = key();
    xk_auth_value v{};
    EXPECT_EQ(bpf_map_lookup_elem(again->authorized_fd(), &k, &v), 0);
    EXPECT_EQ(v.expires_ns, 42u);
}

TEST_F(GateLoader, AFailedLoadLeavesThePinsOfTheRunningGate) {
    {
        auto g = Gate::attach(options());
        xk_auth_key k = key();
        xk_auth_value v{42, 0, 0};
        ASSERT_EQ(bpf_map_update_elem(g->authorized_fd(), &k, &v, BPF_ANY), 0);
    }
    // max_entries 0: the kernel refuses to create the map, so the load fails.
    EXPECT_THROW(Gate::attach(options(0)), GateError);
    EXPECT_TRUE(pinned_entry()) << "a failed load must not unpin the running gate's maps";
    EXPECT_TRUE(std::filesystem::exists(pin("flows")));
}

TEST_F(GateLoader, AResizedMapIsReplacedWithItsEntries) {
    {
        auto g = Gate::attach(options());
        xk_auth_key k = key();
        xk_auth_value v{42, 0, 0};
        ASSERT_EQ(bpf_map_update_elem(g->authorized_fd(), &k, &v, BPF_ANY), 0);
    }
    auto g = Gate::attach(options(131072));
    uint32_t max_entries = 0;
    EXPECT_TRUE(pinned_entry(&max_entries));
    EXPECT_EQ(max_entries, 131072u);
}

// ---- Upgrades: maps pinned by an older build, in another layout, with live state.

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // bpf_ktime_get_ns()'s clock
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// ::ffff:192.0.2.<host>, as the gate keys IPv4 sources.
void mapped(uint8_t *addr, uint8_t host) {
    std::memset(addr, 0, 16);
    addr[10] = addr[11] = 0xff;
    addr[12] = 192;
    addr[14] = 2;
    addr[15] = host;
}

// Ethernet + IPv4 + TCP, 192.0.2.<from>:sport -> 192.0.2.1:dport, no payload.
std::vector<uint8_t> tcp_frame(uint8_t from, uint16_t sport, uint16_t dport, uint8_t flags) {
    // Headers built aligned and copied in: behind the 14-byte Ethernet header they are not
    // 4-byte aligned, and writing them in place is undefined (UBSan: misaligned access).
    ethhdr eth{};
    eth.h_proto = htons(ETH_P_IP);
    iphdr ip{};
    ip.version = 4;
    ip.ihl = 5;
    ip.tot_len = htons(sizeof(iphdr) + sizeof(tcphdr));
    ip.ttl = 64;
    ip.protocol = IPPROTO_TCP;
    ip.saddr = htonl(0xc0000200u | from);
    ip.daddr = htonl(0xc0000201u);
    uint16_t words[sizeof(iphdr) / 2];
    std::memcpy(words, &ip, sizeof(ip));
    uint32_t sum = 0;
    for (uint16_t w : words) sum += w;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip.check = uint16_t(~sum);
    tcphdr tcp{};
    tcp.source = htons(sport);
    tcp.dest = htons(dport);
    tcp.doff = 5;
    tcp.syn = (flags & TH_SYN) != 0;
    tcp.ack = (flags & TH_ACK) != 0;
    tcp.window = htons(64240);
    std::vector<uint8_t> f(sizeof(eth) + sizeof(ip) + sizeof(tcp));
    std::memcpy(f.data(), &eth, sizeof(eth));
    std::memcpy(f.data() + sizeof(eth), &ip, sizeof(ip));
    std::memcpy(f.data() + sizeof(eth) + sizeof(ip), &tcp, sizeof(tcp));
    return f;
}

uint32_t run(int prog_fd, const std::vector<uint8_t> &frame) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = uint32_t(frame.size()));
    EXPECT_EQ(bpf_prog_test_run_opts(prog_fd, &opts), 0);
    return opts.retval;
}

// The flow value of a build before xk_flow.closing: the expiry alone.
struct OldFlow {
    uint64_t expires_ns;
};

class GateUpgrade : public GateLoader {
  protected:
    void SetUp() override {
        GateLoader::SetUp();
        if (IsSkipped()) return;
        std::filesystem::create_directories(root_ + "/lo");
    }
    // A map as an older build pinned it.
    int pin_old(const char *name, bpf_map_type type, uint32_t key, uint32_t value,
                uint32_t max_entries) {
        int fd = bpf_map_create(type, name, key, value, max_entries, nullptr);
        EXPECT_GE(fd, 0) << name << ": " << std::strerror(errno);
        EXPECT_EQ(bpf_obj_pin(fd, pin(name).c_str()), 0) << name;
        return fd;
    }
    // tcp/22 protected: the gate judges SYNs to it.
    static void protect_ssh(Gate &g) {
        uint32_t port = 22;
        xk_port e{};
        e.flags = XK_PORT_PROTECT_TCP;
        ASSERT_EQ(bpf_map_update_elem(g.ports_fd(), &port, &e, BPF_ANY), 0);
    }
    static xk_flow_key flow(uint8_t from, uint16_t sport) {
        xk_flow_key k{};
        mapped(k.saddr, from);
        mapped(k.daddr, 1);
        k.sport = sport;
        k.dport = 22;
        return k;
    }
};

TEST_F(GateUpgrade, AnOlderLayoutKeepsItsLiveGrantsFlowsAndCounters) {
    const uint64_t later = monotonic_ns() + 60'000'000'000ull;
    // authorized: the layout of today, a smaller size; a live grant of every port.
    int auth = pin_old(XK_MAP_AUTHORIZED, BPF_MAP_TYPE_HASH, sizeof(xk_auth_key),
                       sizeof(xk_auth_value), 1024);
    xk_auth_key grant{};
    mapped(grant.addr, 7);
    xk_auth_value v{later, 1, 2};
    ASSERT_EQ(bpf_map_update_elem(auth, &grant, &v, BPF_ANY), 0);
    // flows: an older, shorter value; one established connection.
    int flows =
        pin_old(XK_MAP_FLOWS, BPF_MAP_TYPE_LRU_HASH, sizeof(xk_flow_key), sizeof(OldFlow), 4096);
    xk_flow_key established = flow(8, 40000);
    OldFlow old_flow{later};
    ASSERT_EQ(bpf_map_update_elem(flows, &established, &old_flow, BPF_ANY), 0);
    // counters: fewer of them, as before the last ones were added.
    const int cpus = libbpf_num_possible_cpus();
    int counters = pin_old(XK_MAP_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, XK_CNT_SYN_DROP + 1);
    std::vector<uint64_t> five(size_t(cpus), 5);
    uint32_t syn_pass = XK_CNT_SYN_PASS;
    ASSERT_EQ(bpf_map_update_elem(counters, &syn_pass, five.data(), BPF_ANY), 0);
    for (int fd : {auth, flows, counters}) close(fd);

    auto g = Gate::load(options(), protect_ssh);

    uint32_t max_entries = 0;
    xk_auth_value now{};
    ASSERT_EQ(bpf_map_lookup_elem(g->authorized_fd(), &grant, &now), 0) << "the grant was lost";
    EXPECT_EQ(now.expires_ns, later);
    EXPECT_EQ(now.range_id, 1u);
    EXPECT_EQ(now.secret_id, 2u);
    EXPECT_TRUE(std::filesystem::exists(pin(XK_MAP_AUTHORIZED)));
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(g->authorized_fd(), &info, &len), 0);
    max_entries = info.max_entries;
    EXPECT_EQ(max_entries, 65536u);
    EXPECT_EQ(run(g->prog_fd(), tcp_frame(7, 50000, 22, TH_SYN)), uint32_t(XDP_PASS))
        << "a SYN from the source granted before the upgrade must pass";
    EXPECT_EQ(run(g->prog_fd(), tcp_frame(9, 50000, 22, TH_SYN)), uint32_t(XDP_DROP))
        << "the gate must still judge: an unknown source is dropped";

    xk_flow f{};
    ASSERT_EQ(bpf_map_lookup_elem(g->flows_fd(), &established, &f), 0) << "the flow was lost";
    EXPECT_EQ(f.expires_ns, later);
    EXPECT_EQ(f.closing, 0u);  // the new field starts at 0
    EXPECT_EQ(run(g->prog_fd(), tcp_frame(8, 40000, 22, TH_ACK)), uint32_t(XDP_PASS))
        << "an established connection must survive the upgrade";
    EXPECT_EQ(run(g->prog_fd(), tcp_frame(8, 40001, 22, TH_ACK)), uint32_t(XDP_DROP));

    Counters c = read_counters(g->counters_fd());
    EXPECT_EQ(c[XK_CNT_SYN_PASS], uint64_t(5 * cpus + 1));
    EXPECT_EQ(c[XK_CNT_TCP_FLOW_PASS], 1u);
}

// What cannot be converted is dropped, and the change says so (and why) for the log.
TEST_F(GateUpgrade, WhatCannotBeConvertedIsDroppedAndSaid) {
    // A newer, wider grant value (a downgrade) and a flow key of another layout.
    int auth = pin_old(XK_MAP_AUTHORIZED, BPF_MAP_TYPE_HASH, sizeof(xk_auth_key),
                       sizeof(xk_auth_value) + 8, 65536);
    std::vector<uint8_t> wide(sizeof(xk_auth_value) + 8, 1);
    xk_auth_key grant{};
    mapped(grant.addr, 7);
    ASSERT_EQ(bpf_map_update_elem(auth, &grant, wide.data(), BPF_ANY), 0);
    int flows = pin_old(XK_MAP_FLOWS, BPF_MAP_TYPE_LRU_HASH, sizeof(xk_flow_key) + 4,
                        sizeof(xk_flow), 65536);
    std::vector<uint8_t> long_key(sizeof(xk_flow_key) + 4, 2);
    xk_flow fv{1, 0, 0};
    ASSERT_EQ(bpf_map_update_elem(flows, long_key.data(), &fv, BPF_ANY), 0);
    int ports = pin_old(XK_MAP_PORTS, BPF_MAP_TYPE_ARRAY, 4, sizeof(xk_port), 1024);
    for (int fd : {auth, flows, ports}) close(fd);

    const std::string dir = root_ + "/lo";
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = dir.c_str());
    xdpknock *skel = xdpknock__open_opts(&open_opts);
    ASSERT_NE(skel, nullptr);
    PinPlan plan = plan_pins(skel->obj, dir);
    ASSERT_EQ(xdpknock__load(skel), 0);
    std::vector<PinChange> said = finish_pins(plan);
    ASSERT_EQ(said.size(), 3u);
    auto line_of = [&](const std::string &map) {
        for (const auto &c : said)
            if (c.line.rfind(map + ":", 0) == 0) return c;
        return PinChange{"(no line)", false};
    };
    PinChange a = line_of(XK_MAP_AUTHORIZED), fl = line_of(XK_MAP_FLOWS), p = line_of(XK_MAP_PORTS);
    EXPECT_EQ(a.line,
              "authorized: the pinned map had another shape (value 24 -> 16 bytes); replaced, its "
              "entries not carried over: the value shrank: which of its fields went cannot be "
              "told");
    EXPECT_TRUE(a.lost);
    EXPECT_NE(fl.line.find("(key 40 -> 36 bytes); replaced, its entries not carried over: the key "
                           "layout changed"),
              std::string::npos)
        << fl.line;
    EXPECT_TRUE(fl.lost);
    EXPECT_NE(p.line.find("not carried over: the config rewrites it at every start"),
              std::string::npos)
        << p.line;
    EXPECT_FALSE(p.lost);
    xk_auth_value v{};
    EXPECT_NE(bpf_map_lookup_elem(bpf_map__fd(skel->maps.authorized), &grant, &v), 0);
    xdpknock__destroy(skel);
}

// More live grants than the new size holds: those past it are counted as dropped.
TEST_F(GateUpgrade, GrantsBeyondASmallerMapAreCountedAsDropped) {
    int auth = pin_old(XK_MAP_AUTHORIZED, BPF_MAP_TYPE_HASH, sizeof(xk_auth_key),
                       sizeof(xk_auth_value), 64);
    for (uint8_t host = 10; host < 20; ++host) {
        xk_auth_key k{};
        mapped(k.addr, host);
        xk_auth_value v{monotonic_ns() + 60'000'000'000ull, 0, 0};
        ASSERT_EQ(bpf_map_update_elem(auth, &k, &v, BPF_ANY), 0);
    }
    close(auth);
    const std::string dir = root_ + "/lo";
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = dir.c_str());
    xdpknock *skel = xdpknock__open_opts(&open_opts);
    ASSERT_NE(skel, nullptr);
    bpf_map__set_max_entries(skel->maps.authorized, 4);
    PinPlan plan = plan_pins(skel->obj, dir);
    ASSERT_EQ(xdpknock__load(skel), 0);
    std::vector<PinChange> said = finish_pins(plan);
    ASSERT_EQ(said.size(), 1u);
    EXPECT_EQ(said[0].line,
              "authorized: the pinned map had another shape (max_entries 64 -> 4); replaced: 4 "
              "entr(ies) carried over, 6 dropped: the new map is full");
    EXPECT_TRUE(said[0].lost);
    xdpknock__destroy(skel);
}

TEST_F(GateLoader, EveryMapIsPinnedUnderItsSharedName) {
    auto g = Gate::attach(options());
    for (const char *name :
         {XK_MAP_PORTS, XK_MAP_AUTHORIZED, XK_MAP_FLOWS, XK_MAP_XSKS, XK_MAP_KNOCK_BUCKETS,
          XK_MAP_COUNTERS, XK_MAP_WAKE_EVENTS, XK_MAP_WAKE_LAST, XK_MAP_WAKE_TARGETS,
          XK_MAP_AUTH_FILTER, XK_MAP_SEQ_PORTS, XK_MAP_SEQ_RANGES, XK_MAP_SEQ_STATE,
          XK_MAP_SEQ_EVENTS, XK_MAP_UDP_FLOWS, XK_MAP_HTTP_EVENTS}) {
        EXPECT_TRUE(std::filesystem::exists(pin(name))) << name;
    }
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root_ + "/lo"),
                            std::filesystem::directory_iterator{}),
              16);
}

TEST_F(GateLoader, DetachRemovesProgramAndPins) {
    { auto g = Gate::attach(options()); }
    EXPECT_EQ(detach(root_, "lo"), "lo: gate detached, pins removed");
    EXPECT_FALSE(std::filesystem::exists(root_ + "/lo"));
    EXPECT_EQ(detach(root_, "lo"), "lo: no XDP program attached");
}

TEST_F(GateLoader, LinkTypesItCannotParseAreRefused) {
    EXPECT_EQ(link_layer_of("x", 1), LinkLayer::ethernet);    // ARPHRD_ETHER
    EXPECT_EQ(link_layer_of("x", 512), LinkLayer::raw_ip);    // ARPHRD_PPP
    EXPECT_EQ(link_layer_of("x", 65534), LinkLayer::raw_ip);  // ARPHRD_NONE: tun, wg
    EXPECT_EQ(link_layer_of("x", 778), LinkLayer::raw_ip);    // ARPHRD_IPGRE
    EXPECT_THROW(link_layer_of("x", 32), GateError);          // ARPHRD_INFINIBAND
    EXPECT_THROW(link_layer_of("x", 801), GateError);         // ARPHRD_IEEE80211
    EXPECT_EQ(link_type("lo"), 772u);                         // ARPHRD_LOOPBACK
}

}  // namespace
}  // namespace xk::gate
