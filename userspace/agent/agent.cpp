#include "agent/agent.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_packet.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "agent.skel.h"
#include "agent/agent_config.hpp"
#include "agent/held_syn.hpp"
#include "cli/knock_socket.hpp"
#include "log/log.hpp"
#include "methods/registry.hpp"
#include "spa/fko_encode.hpp"
#include "xdpknock/agent.h"

namespace xk::agent {
namespace {

// tcx (Linux 6.6): a link per interface, owned by this process's fd, so the hold ends with
// the agent whatever kills it. Debian 12's uapi headers predate the names.
constexpr int kBpfTcxEgress = 47;

std::atomic<bool> g_stop{false}, g_reload{false};

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

AgentConfig load_config(const AgentOptions &o) {
    std::string rc_path = o.rc_file.empty() ? cli::default_fwknoprc_path() : o.rc_file;
    auto rc = [&](const std::string &name) {
        return cli::parse_fwknoprc(policy::read_secret_file(rc_path), rc_path, name);
    };
    return parse_agent_config(policy::read_secret_file(o.config_path), rc);
}

// Every address the gateway's name has now (a literal is its own).
std::vector<policy::Address> resolve(const std::string &gateway) {
    if (auto a = policy::parse_address(gateway)) return {*a};
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo *res = nullptr;
    if (int rc = getaddrinfo(gateway.c_str(), nullptr, &hints, &res)) {
        XK_WARN("agent: cannot resolve %s: %s", gateway.c_str(), gai_strerror(rc));
        return {};
    }
    std::vector<policy::Address> out;
    for (addrinfo *a = res; a; a = a->ai_next) {
        policy::Address addr;
        if (a->ai_family == AF_INET)
            addr = policy::Address::from_v4(
                reinterpret_cast<sockaddr_in *>(a->ai_addr)->sin_addr.s_addr);
        else if (a->ai_family == AF_INET6)
            addr = policy::Address::from_bytes(
                reinterpret_cast<sockaddr_in6 *>(a->ai_addr)->sin6_addr.s6_addr);
        else
            continue;
        if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
    }
    freeaddrinfo(res);
    return out;
}

struct SkelDeleter {
    void operator()(::agent *s) const { agent__destroy(s); }
};

class Agent {
  public:
    explicit Agent(const AgentOptions &o) : options_(o), config_(load_config(o)) {
        open_bpf();
        for (const auto &ifname : o.interfaces) attach(ifname);
        packet_fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (packet_fd_ < 0)
            throw std::runtime_error(std::string("packet socket: ") + strerror(errno));
        fill_services();
    }
    ~Agent() {
        if (rb_) ring_buffer__free(rb_);
        for (int fd : links_) close(fd);  // the hold ends here: nothing is held after exit
        if (packet_fd_ >= 0) close(packet_fd_);
    }
    Agent(const Agent &) = delete;
    Agent &operator=(const Agent &) = delete;

    int poll() { return ring_buffer__poll(rb_, poll_timeout_ms()); }
    void reload();
    void on_held(const xk_agent_held &h);
    void repeat_knocks();
    void resend_held();

  private:
    struct Repeat {
        size_t remote;
        policy::Address addr;
        uint64_t next_ns, until_ns;
    };
    // A held SYN goes again after its knock, and again while its socket still waits: the
    // gateway's grant lands a moment after the knock, and TCP's own retry is a second away.
    struct Resend {
        xk_agent_held held;
        HeldSyn syn;
        uint64_t next_ns;
        size_t step;
    };
    static constexpr uint32_t kResendGapMs[] = {2, 5, 10, 25, 50, 100, 200, 400};

    int poll_timeout_ms() const;

    void open_bpf();
    void attach(const std::string &ifname);
    void fill_services();
    bool knock(size_t r, const policy::Address &addr);
    void mark_fresh(size_t r, uint64_t until_ns);
    void send_again(const xk_agent_held &h);

    AgentOptions options_;
    AgentConfig config_;
    std::unique_ptr<::agent, SkelDeleter> skel_;
    ring_buffer *rb_ = nullptr;
    std::vector<int> links_;
    int packet_fd_ = -1;
    std::vector<std::vector<xk_agent_key>> keys_;  // per remote
    std::vector<uint64_t> knocked_until_;          // per remote: fresh until (monotonic ns)
    std::vector<Repeat> repeats_;
    std::vector<Resend> resends_;
};

int on_event(void *ctx, void *data, size_t size) {
    if (size >= sizeof(xk_agent_held))
        static_cast<Agent *>(ctx)->on_held(*static_cast<const xk_agent_held *>(data));
    return 0;
}

void Agent::open_bpf() {
    skel_.reset(agent__open_and_load());
    if (!skel_) throw std::runtime_error(std::string("agent: BPF load failed: ") + strerror(errno));
    rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.held), on_event, this, nullptr);
    if (!rb_) throw std::runtime_error("agent: ring buffer: " + std::string(strerror(errno)));
}

void Agent::attach(const std::string &ifname) {
    unsigned idx = if_nametoindex(ifname.c_str());
    if (!idx) throw std::runtime_error("agent: no interface " + ifname);
    int fd = bpf_link_create(bpf_program__fd(skel_->progs.xk_agent_egress), static_cast<int>(idx),
                             static_cast<bpf_attach_type>(kBpfTcxEgress), nullptr);
    if (fd < 0)
        throw std::runtime_error("agent: cannot attach to " + ifname +
                                 " egress (tcx, Linux >= 6.6): " + strerror(errno));
    links_.push_back(fd);
    XK_INFO("agent: watching SYNs leaving %s", ifname.c_str());
}

// The services map from the config: every address of every remote's gateway, each of its
// ports. A key that stays keeps how fresh it was (a reload knocks nobody again).
void Agent::fill_services() {
    int fd = bpf_map__fd(skel_->maps.services);
    std::map<std::pair<std::array<uint8_t, 16>, uint16_t>, uint64_t> fresh;
    xk_agent_key key{}, next{};
    for (void *prev = nullptr; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &key) {
        xk_agent_service v{};
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) {
            std::array<uint8_t, 16> a;
            std::memcpy(a.data(), next.daddr, 16);
            fresh[{a, next.dport}] = v.fresh_until_ns;
        }
        key = next;
    }
    for (const auto &[k, v] : fresh) {
        xk_agent_key del{};
        std::memcpy(del.daddr, k.first.data(), 16);
        del.dport = k.second;
        bpf_map_delete_elem(fd, &del);
    }
    keys_.assign(config_.remotes.size(), {});
    knocked_until_.assign(config_.remotes.size(), 0);
    for (size_t r = 0; r < config_.remotes.size(); r++) {
        for (const auto &addr : resolve(config_.remotes[r].gateway)) {
            for (uint16_t port : config_.remotes[r].tcp_ports) {
                xk_agent_key k{};
                std::memcpy(k.daddr, addr.bytes.data(), 16);
                k.dport = port;
                auto was = fresh.find({addr.bytes, port});
                xk_agent_service v{was == fresh.end() ? 0 : was->second, static_cast<uint32_t>(r),
                                   0};
                if (bpf_map_update_elem(fd, &k, &v, BPF_ANY) != 0)
                    XK_WARN("agent: remote %s: services map full", config_.remotes[r].name.c_str());
                keys_[r].push_back(k);
            }
        }
        XK_INFO("agent: remote %s: %s, %zu service key(s)", config_.remotes[r].name.c_str(),
                config_.remotes[r].gateway.c_str(), keys_[r].size());
    }
}

// The knock's bytes for remote r, sent to addr (the address the held SYN goes to).
bool Agent::knock(size_t r, const policy::Address &addr) {
    const Remote &rm = config_.remotes[r];
    const std::string to = policy::format_address(addr);
    std::vector<uint8_t> payload = rm.secret.plain;
    if (methods::method_of(rm.method).name() == "fko") {
        std::string allow = rm.allow == AllowIp::address ? rm.allow_addr : "0.0.0.0";
        if (rm.allow == AllowIp::source) {
            allow = cli::local_address_toward(to, rm.port);
            if (allow.empty()) allow = "0.0.0.0";
        }
        std::string message = allow;
        for (uint16_t p : rm.tcp_ports) message += ",tcp/" + std::to_string(p);
        spa::FkoRequest req;
        req.user = rm.user;
        req.timestamp = time(nullptr);
        req.message = message;
        std::string error;
        if (spa::Reject rj = spa::fko_knock(rm.secret.fko, req, payload, error);
            rj != spa::Reject::ok) {
            XK_ERROR("agent: remote %s: cannot make the knock: %s", rm.name.c_str(),
                     error.empty() ? spa::reject_name(rj) : error.c_str());
            return false;
        }
    }
    std::string error;
    if (cli::send_knock(to, rm.port, payload, error) != 0) {
        XK_ERROR("agent: remote %s: %s", rm.name.c_str(), error.c_str());
        return false;
    }
    return true;
}

void Agent::mark_fresh(size_t r, uint64_t until_ns) {
    knocked_until_[r] = until_ns;
    int fd = bpf_map__fd(skel_->maps.services);
    for (const auto &k : keys_[r]) {
        xk_agent_service v{until_ns, static_cast<uint32_t>(r), 0};
        bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
    }
}

// The held frame out again through the same interface, its checksum whole. It passes the
// program now: its remote is fresh.
void Agent::send_again(const xk_agent_held &h) {
    std::vector<uint8_t> frame(h.frame, h.frame + std::min<uint32_t>(h.len, XK_AGENT_FRAME_MAX));
    if (!fix_tcp_checksum(frame)) return;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(h.ifindex);
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, frame.data(), 6);
    if (sendto(packet_fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr *>(&to),
               sizeof(to)) < 0)
        XK_WARN("agent: could not send the held SYN again (%s): TCP retransmits it",
                strerror(errno));
}

void Agent::on_held(const xk_agent_held &h) {
    auto syn = parse_held_syn({h.frame, std::min<uint32_t>(h.len, XK_AGENT_FRAME_MAX)});
    if (!syn || h.remote >= config_.remotes.size()) return send_again(h);
    const Remote &rm = config_.remotes[h.remote];
    const uint64_t now = now_ns();
    if (now >= knocked_until_[h.remote]) {  // else a knock is fresh: a SYN raced the mark
        const bool sent = knock(h.remote, syn->daddr);
        XK_INFO("agent: %s %s (%s) at %s udp/%u for tcp/%u (SYN from port %u held)",
                sent ? "knocked" : "could not knock", rm.name.c_str(),
                std::string(methods::method_of(rm.method).name()).c_str(),
                policy::format_address(syn->daddr).c_str(), rm.port, syn->dport, syn->sport);
        mark_fresh(h.remote, now + rm.fresh_s * 1000000000ull);
        if (sent && rm.repeat_ms)
            repeats_.push_back({h.remote, syn->daddr, now + rm.repeat_ms * 1000000ull,
                                now + rm.timeout_s * 1000000000ull});
        resends_.push_back({h, *syn, now + rm.delay_ms * 1000000ull, 0});
        return;
    }
    send_again(h);
}

void Agent::resend_held() {
    const uint64_t now = now_ns();
    for (auto it = resends_.begin(); it != resends_.end();) {
        if (it->next_ns > now) {
            ++it;
            continue;
        }
        if (it->step > 0 && !still_syn_sent(it->syn)) {  // answered (or gone): done
            it = resends_.erase(it);
            continue;
        }
        send_again(it->held);
        if (it->step == std::size(kResendGapMs)) {
            it = resends_.erase(it);
            continue;
        }
        it->next_ns = now + kResendGapMs[it->step++] * 1000000ull;
        ++it;
    }
}

int Agent::poll_timeout_ms() const {
    uint64_t next = now_ns() + 100000000ull;
    for (const auto &r : resends_) next = std::min(next, r.next_ns);
    for (const auto &r : repeats_) next = std::min(next, r.next_ns);
    const uint64_t now = now_ns();
    return next <= now ? 0 : static_cast<int>((next - now + 999999) / 1000000);
}

void Agent::repeat_knocks() {
    const uint64_t now = now_ns();
    for (auto it = repeats_.begin(); it != repeats_.end();) {
        if (it->next_ns > now) {
            ++it;
            continue;
        }
        if (it->remote < config_.remotes.size()) knock(it->remote, it->addr);
        it->next_ns = now + config_.remotes[it->remote].repeat_ms * 1000000ull;
        it = it->next_ns > it->until_ns ? repeats_.erase(it) : it + 1;
    }
}

void Agent::reload() {
    try {
        AgentConfig fresh = load_config(options_);
        config_ = std::move(fresh);
        repeats_.clear();
        fill_services();
        XK_INFO("agent: reloaded %s: %zu remote(s)", options_.config_path.c_str(),
                config_.remotes.size());
    } catch (const std::exception &e) {
        XK_ERROR("agent: reload refused, keeping the running config: %s", e.what());
    }
}

void on_signal(int sig) {
    (sig == SIGHUP ? g_reload : g_stop).store(true);
}

}  // namespace

std::vector<std::string> default_route_interfaces() {
    std::vector<std::string> out;
    auto add = [&](const std::string &name) {
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    };
    std::ifstream v4("/proc/net/route");
    std::string line;
    std::getline(v4, line);  // header
    while (std::getline(v4, line)) {
        std::istringstream f(line);
        std::string iface, dest, gw, flags, refcnt, use, metric, mask;
        if (f >> iface >> dest >> gw >> flags >> refcnt >> use >> metric >> mask &&
            dest == "00000000" && mask == "00000000")
            add(iface);
    }
    std::ifstream v6("/proc/net/ipv6_route");
    while (std::getline(v6, line)) {
        std::istringstream f(line);
        std::string dst, dst_len, src, src_len, next, metric, ref, use, flags, iface;
        if (f >> dst >> dst_len >> src >> src_len >> next >> metric >> ref >> use >> flags >>
                iface &&
            dst_len == "00" && dst == std::string(32, '0') && iface != "lo")
            add(iface);
    }
    return out;
}

int run_agent(const AgentOptions &options) {
    AgentOptions o = options;
    if (o.interfaces.empty()) o.interfaces = default_route_interfaces();
    if (o.interfaces.empty())
        throw std::runtime_error(
            "agent: no interface has a default route; name one with --interface");
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: the poll returns at once
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
    Agent agent(o);
    XK_INFO("agent running: %zu interface(s)", o.interfaces.size());
    while (!g_stop.load()) {
        int n = agent.poll();
        if (n < 0 && n != -EINTR) {
            XK_ERROR("agent: ring buffer poll: %s", strerror(-n));
            return 1;
        }
        if (g_reload.exchange(false)) agent.reload();
        agent.resend_held();
        agent.repeat_knocks();
    }
    XK_INFO("agent stopping: SYNs leave untouched from now on");
    return 0;
}

}  // namespace xk::agent
