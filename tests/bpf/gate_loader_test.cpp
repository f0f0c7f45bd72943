// The production loader (gate::Gate) in a private network namespace: pinned maps are
// reused across loads, replaced only when their shape differs (entries carried over), and
// never touched by a load that fails; detach is what removes them.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gate/gate.hpp"
#include "require_root.hpp"
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

TEST_F(GateLoader, EveryMapIsPinnedUnderItsSharedName) {
    auto g = Gate::attach(options());
    for (const char *name :
         {XK_MAP_PORTS, XK_MAP_AUTHORIZED, XK_MAP_FLOWS, XK_MAP_XSKS, XK_MAP_KNOCK_BUCKETS,
          XK_MAP_COUNTERS, XK_MAP_WAKE_EVENTS, XK_MAP_WAKE_LAST, XK_MAP_WAKE_TARGETS}) {
        EXPECT_TRUE(std::filesystem::exists(pin(name))) << name;
    }
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root_ + "/lo"),
                            std::filesystem::directory_iterator{}),
              9);
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
