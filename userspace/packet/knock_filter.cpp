#include "packet/knock_filter.hpp"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>

#include <algorithm>
#include <stdexcept>

#include "policy/config.hpp"

namespace xk::packet {
namespace {

constexpr uint32_t kAccept = 0xffff;  // bytes kept: the whole packet
// Ports per block of a port chain: every jump inside a block stays below cBPF's 255.
constexpr size_t kChainBlock = 200;

// Forward jumps to labels, resolved at the end. cBPF's conditional jumps reach 255
// instructions at most: the layout keeps them short and crosses long distances with `ja`.
class Assembler {
  public:
    static constexpr int kNext = -1;

    int label() {
        at_.push_back(-1);
        return static_cast<int>(at_.size()) - 1;
    }
    void bind(int l) { at_[static_cast<size_t>(l)] = static_cast<int>(code_.size()); }
    void stmt(uint16_t op, uint32_t k) { code_.push_back(BPF_STMT(op, k)); }
    void jump(uint16_t op, uint32_t k, int on_true, int on_false) {
        fixups_.push_back({code_.size(), on_true, on_false, false});
        code_.push_back(BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
    }
    void always(int l) {
        fixups_.push_back({code_.size(), l, kNext, true});
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
    }
    void raw(const sock_filter &f) { code_.push_back(f); }
    std::vector<sock_filter> finish();

  private:
    struct Fixup {
        size_t at;
        int on_true, on_false;
        bool ja;
    };
    uint32_t offset(size_t from, int l) const;

    std::vector<sock_filter> code_;
    std::vector<int> at_;
    std::vector<Fixup> fixups_;
};

uint32_t Assembler::offset(size_t from, int l) const {
    if (l == kNext) return 0;
    const int to = at_[static_cast<size_t>(l)];
    if (to <= static_cast<int>(from)) throw std::logic_error("knock filter: backward jump");
    return static_cast<uint32_t>(to - static_cast<int>(from) - 1);
}

std::vector<sock_filter> Assembler::finish() {
    for (const Fixup &f : fixups_) {
        sock_filter &ins = code_[f.at];
        if (f.ja) {
            ins.k = offset(f.at, f.on_true);
            continue;
        }
        const uint32_t jt = offset(f.at, f.on_true), jf = offset(f.at, f.on_false);
        if (jt > 255 || jf > 255) throw std::logic_error("knock filter: jump out of range");
        ins.jt = static_cast<uint8_t>(jt);
        ins.jf = static_cast<uint8_t>(jf);
    }
    if (code_.size() > BPF_MAXINSNS) throw std::length_error("knock filter: too many ports");
    return std::move(code_);
}

// A = the destination port (X = the L4 offset): accept on any of `ports`, else reject.
// Blocks of kChainBlock compares, each followed by its own accept.
void port_chain(Assembler &a, std::vector<uint16_t> ports) {
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    a.stmt(BPF_LD | BPF_H | BPF_IND, 2);
    for (size_t first = 0; first < ports.size(); first += kChainBlock) {
        const size_t k = std::min(kChainBlock, ports.size() - first);
        for (size_t i = 0; i < k; ++i) {
            const auto jt = static_cast<uint8_t>(k - 1 - i);
            const uint8_t jf = i + 1 == k ? 1 : 0;  // past this block's accept
            a.raw(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ports[first + i], jt, jf));
        }
        a.stmt(BPF_RET | BPF_K, kAccept);
    }
    a.stmt(BPF_RET | BPF_K, 0);
}

// A = the L4 protocol, X = the L4 offset: UDP and TCP on to their checks, an ICMP echo
// (`icmp_proto`, `request`/`reply` types) accepted when the config takes them.
struct L4Labels {
    int udp, tcp, accept, reject;
};
void dispatch_l4(Assembler &a, const L4Labels &l, bool icmp, uint8_t icmp_proto, uint8_t request,
                 uint8_t reply) {
    a.jump(BPF_JEQ, IPPROTO_UDP, l.udp, Assembler::kNext);
    a.jump(BPF_JEQ, IPPROTO_TCP, l.tcp, icmp ? Assembler::kNext : l.reject);
    if (!icmp) return;
    a.jump(BPF_JEQ, icmp_proto, Assembler::kNext, l.reject);
    a.stmt(BPF_LD | BPF_B | BPF_IND, 0);  // the ICMP type
    a.jump(BPF_JEQ, request, l.accept, Assembler::kNext);
    a.jump(BPF_JEQ, reply, l.accept, l.reject);
}

}  // namespace

KnockPorts knock_ports(const policy::Config &config) {
    KnockPorts out;
    for (const policy::Range &r : config.ranges) {
        if (r.method == policy::Method::sequence) continue;
        if (r.takes(policy::Transport::udp)) out.udp.push_back(r.port);
        if (r.takes(policy::Transport::tcp)) out.tcp.push_back(r.port);
        if (r.takes(policy::Transport::icmp)) out.icmp = true;
    }
    return out;
}

std::vector<sock_filter> knock_filter(const KnockPorts &ports) {
    Assembler a;
    const L4Labels l{a.label(), a.label(), a.label(), a.label()};
    const int v6 = a.label(), udp_ports = a.label(), tcp_ports = a.label();

    a.stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE);
    a.jump(BPF_JEQ, PACKET_OUTGOING, l.reject, Assembler::kNext);
    a.stmt(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL);
    a.jump(BPF_JEQ, ETH_P_IPV6, v6, Assembler::kNext);
    a.jump(BPF_JEQ, ETH_P_IP, Assembler::kNext, l.reject);

    // IPv4: a fragment, first or not, is not a whole knock (fanout's defrag joins them first).
    a.stmt(BPF_LD | BPF_H | BPF_ABS, 6);
    a.jump(BPF_JSET, 0x3fff, l.reject, Assembler::kNext);
    a.stmt(BPF_LDX | BPF_B | BPF_MSH, 0);  // X = 4 * IHL
    a.stmt(BPF_LD | BPF_B | BPF_ABS, 9);
    dispatch_l4(a, l, ports.icmp, IPPROTO_ICMP, 8, 0);

    a.bind(v6);
    a.stmt(BPF_LDX | BPF_W | BPF_IMM, 40);
    a.stmt(BPF_LD | BPF_B | BPF_ABS, 6);  // next header
    dispatch_l4(a, l, ports.icmp, IPPROTO_ICMPV6, 128, 129);

    a.bind(l.tcp);  // tcpraw's knock rides a SYN; other segments are not knocks (XDP too)
    a.stmt(BPF_LD | BPF_B | BPF_IND, 13);
    a.stmt(BPF_ALU | BPF_AND | BPF_K, 0x12);
    a.jump(BPF_JEQ, 0x02, Assembler::kNext, l.reject);
    a.always(tcp_ports);
    a.bind(l.udp);
    a.always(udp_ports);
    a.bind(l.reject);
    a.stmt(BPF_RET | BPF_K, 0);
    a.bind(l.accept);
    a.stmt(BPF_RET | BPF_K, kAccept);

    a.bind(udp_ports);
    port_chain(a, ports.udp);
    a.bind(tcp_ports);
    port_chain(a, ports.tcp);
    return a.finish();
}

}  // namespace xk::packet
