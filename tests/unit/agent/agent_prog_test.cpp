// The agent's TC egress program through BPF_PROG_TEST_RUN: what it holds, what it passes.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include <gtest/gtest.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "../../bpf/require_root.hpp"
#include "agent.skel.h"
#include "common/packet_builder.hpp"
#include "policy/address.hpp"
#include "xdpknock/agent.h"

using xk::test::PacketBuilder;

namespace {

struct Prog {
    std::unique_ptr<agent, decltype(&agent__destroy)> skel{agent__open_and_load(), agent__destroy};
    ring_buffer *rb = nullptr;
    std::vector<xk_agent_held> held;

    Prog() {
        if (skel) rb = ring_buffer__new(bpf_map__fd(skel->maps.held), on_event, this, nullptr);
    }
    ~Prog() {
        if (rb) ring_buffer__free(rb);
    }
    static int on_event(void *ctx, void *data, size_t) {
        static_cast<Prog *>(ctx)->held.push_back(*static_cast<xk_agent_held *>(data));
        return 0;
    }
    void service(const char *addr, uint16_t port, uint64_t fresh_until, uint32_t remote) {
        xk_agent_key k{};
        std::memcpy(k.daddr, xk::policy::parse_address(addr)->bytes.data(), 16);
        k.dport = port;
        xk_agent_service v{fresh_until, remote, 0};
        ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.services), &k, &v, BPF_ANY), 0);
    }
    int run(const xk::test::Bytes &frame) {
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame.data(),
                    .data_size_in = static_cast<uint32_t>(frame.size()));
        EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xk_agent_egress), &o), 0);
        ring_buffer__consume(rb);
        return static_cast<int>(o.retval);
    }
};

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

xk::test::Bytes syn(const char *dst, uint16_t port, uint8_t flags = xk::test::kTcpSyn) {
    bool v6 = std::strchr(dst, ':');
    PacketBuilder b;
    b.eth();
    if (v6)
        b.ipv6("fd99::2", dst);
    else
        b.ipv4("10.99.0.2", dst);
    return b.tcp(40000, port, flags).build();
}

class AgentProg : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        ASSERT_TRUE(p.skel) << "agent.bpf.o did not load";
        ASSERT_TRUE(p.rb);
        p.service("10.99.0.1", 22, 0, 3);  // never knocked
        p.service("fd99::1", 22, 0, 4);
        p.service("10.99.0.1", 23, now_ns() + 60'000'000'000ull, 5);  // knocked a moment ago
    }
    Prog p;
};

TEST_F(AgentProg, HoldsASynToAServiceNotKnocked) {
    auto frame = syn("10.99.0.1", 22);
    EXPECT_EQ(p.run(frame), TC_ACT_SHOT);
    ASSERT_EQ(p.held.size(), 1u);
    EXPECT_EQ(p.held[0].remote, 3u);
    EXPECT_EQ(p.held[0].dport, 22);
    ASSERT_EQ(p.held[0].len, frame.size());
    EXPECT_EQ(std::memcmp(p.held[0].frame, frame.data(), frame.size()), 0) << "the whole frame";
    EXPECT_EQ(p.run(syn("fd99::1", 22)), TC_ACT_SHOT);
    ASSERT_EQ(p.held.size(), 2u);
    EXPECT_EQ(p.held[1].remote, 4u);
}

TEST_F(AgentProg, PassesEverythingElse) {
    EXPECT_EQ(p.run(syn("10.99.0.1", 23)), TC_ACT_OK) << "knocked recently: fresh";
    EXPECT_EQ(p.run(syn("10.99.0.1", 24)), TC_ACT_OK) << "not a configured service";
    EXPECT_EQ(p.run(syn("10.99.0.9", 22)), TC_ACT_OK) << "another address";
    EXPECT_EQ(p.run(syn("10.99.0.1", 22, xk::test::kTcpSyn | xk::test::kTcpAck)), TC_ACT_OK);
    EXPECT_EQ(p.run(syn("10.99.0.1", 22, xk::test::kTcpAck)), TC_ACT_OK);
    EXPECT_EQ(p.run(PacketBuilder().eth().ipv4("10.99.0.2", "10.99.0.1").udp(1, 22).build()),
              TC_ACT_OK);
    auto big = PacketBuilder()
                   .eth()
                   .ipv4("10.99.0.2", "10.99.0.1")
                   .tcp(1, 22, xk::test::kTcpSyn)
                   .payload(std::string(300, 'x'))
                   .build();
    EXPECT_EQ(p.run(big), TC_ACT_OK) << "a SYN with data is never held (it would not fit)";
    EXPECT_TRUE(p.held.empty());
}

TEST_F(AgentProg, AFreshMarkThatRunsOutHoldsAgain) {
    p.service("10.99.0.1", 22, now_ns() + 60'000'000'000ull, 3);
    EXPECT_EQ(p.run(syn("10.99.0.1", 22)), TC_ACT_OK);
    p.service("10.99.0.1", 22, now_ns() - 1, 3);
    EXPECT_EQ(p.run(syn("10.99.0.1", 22)), TC_ACT_SHOT);
    EXPECT_EQ(p.held.size(), 1u);
}

}  // namespace
