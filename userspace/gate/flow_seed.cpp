#include "gate/flow_seed.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "gate/gate.hpp"

namespace xk::gate {
namespace {

bool protected_tcp(const policy::Config &config, uint16_t port) {
    return std::any_of(config.services.begin(), config.services.end(), [&](const auto &s) {
        return s.port.proto == IPPROTO_TCP && s.port.port == port;
    });
}

// "key=value" after `from` in a conntrack line.
std::string_view field(std::string_view line, std::string_view key, size_t &from) {
    size_t at = line.find(key, from);
    if (at == std::string_view::npos) return {};
    at += key.size();
    size_t end = line.find(' ', at);
    from = end == std::string_view::npos ? line.size() : end;
    return line.substr(at, from - at);
}

bool put_address(std::string_view text, uint8_t out[16]) {
    auto a = policy::parse_address(text);
    if (!a) return false;
    std::memcpy(out, a->bytes.data(), 16);
    return true;
}

bool put_port(std::string_view text, uint16_t &out) {
    unsigned v = 0;
    if (text.empty() || text.size() > 5) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return false;
    out = static_cast<uint16_t>(v);
    return true;
}

// Sends one inet_diag dump request and turns each reply into a flow key.
void dump_family(int fd, uint8_t family, const policy::Config &config,
                 std::vector<xk_flow_key> &out) {
    struct {
        nlmsghdr nlh;
        inet_diag_req_v2 req;
    } msg{};
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.req.sdiag_family = family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    // Every state of a connection with a peer; not LISTEN, SYN_SENT or TIME_WAIT.
    msg.req.idiag_states = (1u << TCP_ESTABLISHED) | (1u << TCP_SYN_RECV) | (1u << TCP_FIN_WAIT1) |
                           (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) |
                           (1u << TCP_CLOSING);
    if (send(fd, &msg, sizeof(msg), 0) != static_cast<ssize_t>(sizeof(msg)))
        throw GateError(std::string("sock_diag: ") + std::strerror(errno));
    alignas(nlmsghdr) char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) throw GateError(std::string("sock_diag: ") + std::strerror(errno));
        for (auto *h = reinterpret_cast<nlmsghdr *>(buf); NLMSG_OK(h, static_cast<unsigned>(n));
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) return;
            if (h->nlmsg_type == NLMSG_ERROR) throw GateError("sock_diag: error reply");
            auto *d = static_cast<const inet_diag_msg *>(NLMSG_DATA(h));
            uint16_t local_port = ntohs(d->id.idiag_sport);
            if (!protected_tcp(config, local_port)) continue;
            xk_flow_key k{};
            auto addr = [&](const __be32 *a) {
                return family == AF_INET
                           ? policy::Address::from_v4(a[0])
                           : policy::Address::from_bytes(reinterpret_cast<const uint8_t *>(a));
            };
            std::memcpy(k.saddr, addr(d->id.idiag_dst).bytes.data(), 16);
            std::memcpy(k.daddr, addr(d->id.idiag_src).bytes.data(), 16);
            k.sport = ntohs(d->id.idiag_dport);
            k.dport = local_port;
            out.push_back(k);
        }
    }
}

}  // namespace

std::optional<xk_flow_key> conntrack_flow(std::string_view line) {
    // "ipv4 2 tcp 6 431999 ESTABLISHED src=A dst=B sport=P dport=Q src=B dst=A ..."
    if (line.find(" tcp ") == std::string_view::npos ||
        line.find(" ESTABLISHED ") == std::string_view::npos) {
        return std::nullopt;
    }
    xk_flow_key k{};
    size_t at = 0;
    if (!put_address(field(line, "src=", at), k.saddr) ||
        !put_address(field(line, "dst=", at), k.daddr) ||
        !put_port(field(line, "sport=", at), k.sport) ||
        !put_port(field(line, "dport=", at), k.dport)) {
        return std::nullopt;
    }
    return k;
}

std::vector<xk_flow_key> established_sockets(const policy::Config &config) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) throw GateError(std::string("sock_diag: ") + std::strerror(errno));
    std::vector<xk_flow_key> out;
    try {
        dump_family(fd, AF_INET, config, out);
        dump_family(fd, AF_INET6, config, out);
    } catch (...) {
        close(fd);
        throw;
    }
    close(fd);
    return out;
}

SeedCount seed_flows(int flows_fd, const policy::Config &config, uint32_t idle_s) {
    SeedCount n;
    xk_flow f{};
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);  // bpf_ktime_get_ns()'s clock
    f.expires_ns = static_cast<uint64_t>(now.tv_sec + idle_s) * 1000000000ull +
                   static_cast<uint64_t>(now.tv_nsec);
    for (const auto &k : established_sockets(config))
        n.sockets += bpf_map_update_elem(flows_fd, &k, &f, BPF_ANY) == 0;
    std::ifstream ct("/proc/net/nf_conntrack");
    n.conntrack_read = ct.is_open();
    for (std::string line; std::getline(ct, line);) {
        auto k = conntrack_flow(line);
        if (k && protected_tcp(config, k->dport))
            n.conntrack += bpf_map_update_elem(flows_fd, &*k, &f, BPF_ANY) == 0;
    }
    return n;
}

}  // namespace xk::gate
