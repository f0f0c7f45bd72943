// Seeding the gate's flow table at attach: conntrack lines and the kernel's own sockets,
// keyed the way the gate sees inbound packets (saddr = the remote peer).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gate/flow_seed.hpp"

namespace xk::gate {
namespace {

TEST(ConntrackFlow, EstablishedTcpGivesTheOriginalDirection) {
    auto k = conntrack_flow(
        "ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.7 dst=203.0.113.1 sport=50123 "
        "dport=22 src=192.168.1.20 dst=198.51.100.7 sport=22 dport=50123 [ASSURED] mark=0 use=1");
    ASSERT_TRUE(k);
    auto a = policy::parse_address("198.51.100.7"), d = policy::parse_address("203.0.113.1");
    EXPECT_EQ(0, std::memcmp(k->saddr, a->bytes.data(), 16));
    EXPECT_EQ(0, std::memcmp(k->daddr, d->bytes.data(), 16));
    EXPECT_EQ(k->sport, 50123);
    EXPECT_EQ(k->dport, 22);
}

TEST(ConntrackFlow, Ipv6Entry) {
    auto k = conntrack_flow(
        "ipv6     10 tcp      6 300 ESTABLISHED src=2001:db8::7 dst=2001:db8:1::1 sport=40000 "
        "dport=2222 src=2001:db8:1::1 dst=2001:db8::7 sport=2222 dport=40000 [ASSURED] use=1");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->dport, 2222);
    EXPECT_EQ(k->saddr[0], 0x20);
}

TEST(ConntrackFlow, AnythingElseIsNoFlow) {
    EXPECT_FALSE(conntrack_flow("ipv4 2 udp 17 29 src=1.2.3.4 dst=5.6.7.8 sport=1 dport=53"));
    EXPECT_FALSE(
        conntrack_flow("ipv4 2 tcp 6 117 SYN_SENT src=1.2.3.4 dst=5.6.7.8 sport=1 "
                       "dport=22 [UNREPLIED] src=5.6.7.8 dst=1.2.3.4"));
    EXPECT_FALSE(
        conntrack_flow("ipv4 2 tcp 6 1 ESTABLISHED src=1.2.3.4 dst=5.6.7.8 sport=1 "
                       "dport=70000 src=5.6.7.8"));
    EXPECT_FALSE(conntrack_flow("ipv4 2 tcp 6 1 ESTABLISHED src=nonsense"));
    EXPECT_FALSE(conntrack_flow(""));
}

// A real connection on loopback to a "protected" port shows up keyed by its client side.
TEST(EstablishedSockets, FindsAConnectionToAProtectedPort) {
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(srv, 1), 0);
    socklen_t len = sizeof(a);
    getsockname(srv, reinterpret_cast<sockaddr *>(&a), &len);
    const uint16_t port = ntohs(a.sin_port);
    int cli = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(cli, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
    int acc = accept(srv, nullptr, nullptr);
    ASSERT_GE(acc, 0);
    sockaddr_in c{};
    len = sizeof(c);
    getsockname(cli, reinterpret_cast<sockaddr *>(&c), &len);

    policy::Config config;
    config.services.push_back({"svc", {IPPROTO_TCP, port}, -1, std::nullopt});
    auto flows = established_sockets(config);
    auto match = [&](const xk_flow_key &k) {
        return k.dport == port && k.sport == ntohs(c.sin_port) && k.saddr[10] == 0xff &&
               k.saddr[12] == 127;
    };
    EXPECT_EQ(std::count_if(flows.begin(), flows.end(), match), 1);

    config.services[0].port.port = static_cast<uint16_t>(port + 1);  // not protected: not seeded
    flows = established_sockets(config);
    EXPECT_EQ(std::count_if(flows.begin(), flows.end(), match), 0);
    close(acc);
    close(cli);
    close(srv);
}

}  // namespace
}  // namespace xk::gate
