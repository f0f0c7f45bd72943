// The AF_PACKET knock filter, run through a small cBPF interpreter (the instructions the
// filter uses, with the kernel's rule that a load past the end rejects) and checked by the
// kernel's own verifier on a real socket. The netns test (packet_socket_test) runs it live.
#include "packet/knock_filter.hpp"

#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "common/packet_builder.hpp"
#include "policy/config.hpp"

namespace xk::packet {
namespace {

using test::Bytes;
using test::PacketBuilder;

constexpr uint16_t kUdp = 62201, kTcp = 62202, kOther = 62299;
constexpr uint32_t kWhole = 0xffff;

struct Skb {
    Bytes data;  // from the IP header: a SOCK_DGRAM socket's offset 0
    uint16_t protocol = ETH_P_IP;
    uint32_t pkttype = PACKET_HOST;
};

bool load(const Skb &skb, uint32_t off, uint32_t size, uint32_t &out) {
    constexpr auto kAnc = static_cast<uint32_t>(SKF_AD_OFF);
    if (off >= kAnc) {
        if (off == kAnc + SKF_AD_PROTOCOL)
            out = skb.protocol;
        else if (off == kAnc + SKF_AD_PKTTYPE)
            out = skb.pkttype;
        else
            return false;
        return true;
    }
    if (off + size > skb.data.size()) return false;
    out = 0;
    for (uint32_t i = 0; i < size; ++i) out = out << 8 | skb.data[off + i];
    return true;
}

uint32_t size_of(uint16_t code) {
    return BPF_SIZE(code) == BPF_W ? 4 : BPF_SIZE(code) == BPF_H ? 2 : 1;
}

// The instructions knock_filter emits; anything else fails the test.
uint32_t run(const std::vector<sock_filter> &prog, const Skb &skb) {
    uint32_t a = 0, x = 0;
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const sock_filter &f = prog[pc];
        switch (f.code) {
            case BPF_LD | BPF_W | BPF_ABS:
            case BPF_LD | BPF_H | BPF_ABS:
            case BPF_LD | BPF_B | BPF_ABS:
                if (!load(skb, f.k, size_of(f.code), a)) return 0;
                break;
            case BPF_LD | BPF_H | BPF_IND:
            case BPF_LD | BPF_B | BPF_IND:
                if (!load(skb, x + f.k, size_of(f.code), a)) return 0;
                break;
            case BPF_LDX | BPF_B | BPF_MSH:
                if (!load(skb, f.k, 1, x)) return 0;
                x = 4 * (x & 0xf);
                break;
            case BPF_LDX | BPF_W | BPF_IMM:
                x = f.k;
                break;
            case BPF_ALU | BPF_AND | BPF_K:
                a &= f.k;
                break;
            case BPF_JMP | BPF_JA:
                pc += f.k;
                break;
            case BPF_JMP | BPF_JEQ | BPF_K:
                pc += a == f.k ? f.jt : f.jf;
                break;
            case BPF_JMP | BPF_JSET | BPF_K:
                pc += (a & f.k) ? f.jt : f.jf;
                break;
            case BPF_RET | BPF_K:
                return f.k;
            default:
                ADD_FAILURE() << "unexpected instruction " << f.code << " at " << pc;
                return 0;
        }
    }
    ADD_FAILURE() << "ran off the end";
    return 0;
}

// The packet from its IP header, as a SOCK_DGRAM socket sees it.
Skb ip(const PacketBuilder &b, uint16_t protocol = ETH_P_IP) {
    Bytes f = b.build();
    return {Bytes(f.begin() + 14, f.end()), protocol};
}
Skb udp4(uint16_t dport, test::Ipv4Options o = {}) {
    return ip(
        PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2", o).udp(40000, dport).payload("knock"));
}
Skb udp6(uint16_t dport) {
    return ip(
        PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(40000, dport).payload("knock"),
        ETH_P_IPV6);
}
Skb tcp4(uint16_t dport, uint8_t flags) {
    return ip(PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2").tcp(40000, dport, flags));
}
Skb tcp6(uint16_t dport, uint8_t flags) {
    return ip(PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").tcp(40000, dport, flags),
              ETH_P_IPV6);
}
Skb icmp4(uint8_t type) {
    return ip(PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2").icmp(type).payload("knock"));
}
Skb icmp6(uint8_t type) {
    return ip(PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").icmp(type).payload("k"),
              ETH_P_IPV6);
}

const KnockPorts kPorts{{kUdp}, {kTcp}, true};

TEST(KnockFilter, TakesUdpToAKnockPortWhole) {
    const auto prog = knock_filter(kPorts);
    EXPECT_EQ(run(prog, udp4(kUdp)), kWhole);
    EXPECT_EQ(run(prog, udp6(kUdp)), kWhole);
    EXPECT_EQ(run(prog, udp4(kOther)), 0u);
    EXPECT_EQ(run(prog, udp6(kOther)), 0u);
    EXPECT_EQ(run(prog, udp4(kTcp)), 0u) << "a tcpraw port is not a UDP knock port";
}

TEST(KnockFilter, ReadsTheUdpHeaderBehindIpv4Options) {
    test::Ipv4Options o;
    o.options = Bytes(12, 1);  // NOPs: IHL 8
    EXPECT_EQ(run(knock_filter(kPorts), udp4(kUdp, o)), kWhole);
    EXPECT_EQ(run(knock_filter(kPorts), udp4(kOther, o)), 0u);
}

TEST(KnockFilter, RefusesFragmentsFirstOrNot) {
    test::Ipv4Options first, later;
    first.moreFragments = true;
    later.fragOffset = 64;
    EXPECT_EQ(run(knock_filter(kPorts), udp4(kUdp, first)), 0u);
    EXPECT_EQ(run(knock_filter(kPorts), udp4(kUdp, later)), 0u);
    test::Ipv4Options df;
    df.dontFragment = true;
    EXPECT_EQ(run(knock_filter(kPorts), udp4(kUdp, df)), kWhole) << "DF is no fragment";
}

TEST(KnockFilter, TakesOnlyASynToATcprawPort) {
    const auto prog = knock_filter(kPorts);
    EXPECT_EQ(run(prog, tcp4(kTcp, test::kTcpSyn)), kWhole);
    EXPECT_EQ(run(prog, tcp6(kTcp, test::kTcpSyn)), kWhole);
    EXPECT_EQ(run(prog, tcp4(kTcp, test::kTcpSyn | test::kTcpAck)), 0u);
    EXPECT_EQ(run(prog, tcp4(kTcp, test::kTcpAck | test::kTcpPsh)), 0u);
    EXPECT_EQ(run(prog, tcp4(kUdp, test::kTcpSyn)), 0u) << "a UDP knock port takes no TCP";
    EXPECT_EQ(run(knock_filter({{kUdp}, {}, false}), tcp4(kTcp, test::kTcpSyn)), 0u);
}

TEST(KnockFilter, TakesIcmpEchoesOnlyWhenARangeDoes) {
    const auto with = knock_filter(kPorts), without = knock_filter({{kUdp}, {}, false});
    for (uint8_t type : {8, 0}) {
        EXPECT_EQ(run(with, icmp4(type)), kWhole) << int(type);
        EXPECT_EQ(run(without, icmp4(type)), 0u) << int(type);
    }
    for (uint8_t type : {128, 129}) {
        EXPECT_EQ(run(with, icmp6(type)), kWhole) << int(type);
        EXPECT_EQ(run(without, icmp6(type)), 0u) << int(type);
    }
    EXPECT_EQ(run(with, icmp4(3)), 0u) << "unreachable";
    EXPECT_EQ(run(with, icmp6(135)), 0u) << "neighbour solicitation";
    EXPECT_EQ(run(with, icmp4(128)), 0u) << "an ICMPv6 type in ICMPv4";
}

TEST(KnockFilter, RefusesWhatIsNotAWholeCandidate) {
    const auto prog = knock_filter(kPorts);
    Skb out = udp4(kUdp);
    out.pkttype = PACKET_OUTGOING;
    EXPECT_EQ(run(prog, out), 0u) << "this host's own packets";
    Skb arp = ip(PacketBuilder().eth().arp(), ETH_P_ARP);
    EXPECT_EQ(run(prog, arp), 0u);
    Skb cut = udp4(kUdp);
    cut.data.resize(20 + 2);  // the destination port is past the end
    EXPECT_EQ(run(prog, cut), 0u);
    EXPECT_EQ(
        run(prog,
            ip(PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").hopByHop().udp(40000, kUdp),
               ETH_P_IPV6)),
        0u)
        << "documented: no IPv6 extension-header walk";
}

TEST(KnockFilter, HundredsOfPortsStayInJumpRange) {
    KnockPorts many;
    for (uint16_t p = 20000; p < 20000 + 2 * 450; p += 2) many.udp.push_back(p);
    for (uint16_t p = 30000; p < 30000 + 2 * 450; p += 2) many.tcp.push_back(p);
    many.udp.push_back(20000);  // a duplicate, as two ranges on one port give
    const auto prog = knock_filter(many);
    for (uint16_t p = 20000; p < 20000 + 2 * 450; ++p)
        ASSERT_EQ(run(prog, udp4(p)), p % 2 ? 0u : kWhole) << p;
    for (uint16_t p = 30000; p < 30000 + 2 * 450; ++p)
        ASSERT_EQ(run(prog, tcp6(p, test::kTcpSyn)), p % 2 ? 0u : kWhole) << p;
    EXPECT_EQ(run(prog, udp4(30000)), 0u);
    EXPECT_EQ(run(prog, tcp4(20000, test::kTcpSyn)), 0u);

    // The kernel's checker takes it (any socket will do, no privilege needed).
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sock_fprog fp{static_cast<unsigned short>(prog.size()), const_cast<sock_filter *>(prog.data())};
    EXPECT_EQ(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)), 0);
    close(fd);
}

TEST(KnockFilter, NoPortsTakesNothing) {
    const auto prog = knock_filter({});
    EXPECT_EQ(run(prog, udp4(kUdp)), 0u);
    EXPECT_EQ(run(prog, tcp4(kTcp, test::kTcpSyn)), 0u);
    EXPECT_EQ(run(prog, icmp4(8)), 0u);
}

TEST(KnockFilter, TooManyPortsIsRefused) {
    KnockPorts all;
    for (uint32_t p = 1; p < 65536; ++p) all.udp.push_back(static_cast<uint16_t>(p));
    EXPECT_THROW(knock_filter(all), std::length_error);
}

TEST(KnockFilter, PortsComeFromTheRangesTransports) {
    const policy::Config c = policy::parse_config(
        R"({"interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
            "ranges": [
              {"name": "a", "method": "plain", "port": 62201, "open": ["tcp/22"],
               "secrets": [{"label": "l", "secret": "sssss"}]},
              {"name": "b", "method": "plain", "port": 62202, "transports": ["tcpraw", "icmp"],
               "open": ["tcp/22"], "secrets": [{"label": "l", "secret": "ttttt"}]}]})");
    const KnockPorts p = knock_ports(c);
    EXPECT_EQ(p.udp, std::vector<uint16_t>{62201});
    EXPECT_EQ(p.tcp, std::vector<uint16_t>{62202});
    EXPECT_TRUE(p.icmp);
}

}  // namespace
}  // namespace xk::packet
