#include "daemon/guarded_interface.hpp"

#include "hooks/hook_args.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "auth/auth_filter.hpp"
#include "cluster/cluster_store.hpp"
#include "gate/counters.hpp"
#include "gate/flow_seed.hpp"
#include "gate/ports.hpp"
#include "log/log.hpp"
#include "nft/nft_counters.hpp"
#include "nft/nft_store.hpp"
#include "packet/packet_socket.hpp"

namespace xk::daemon {

namespace {

// Fills the maps between load and attach: ports, wake targets, and the connections that
// are open now (so attaching the gate cuts no session).
void fill_gate(gate::Gate &g, const policy::Config &config, const std::string &ifname,
               const std::vector<gate::SeqCurrent> &sequences) {
    gate::write_sequences(g, config, sequences);  // before a port is flagged as a step
    gate::write_ports(g.ports_fd(), config);
    gate::write_wake_targets(g.wake_targets_fd(), config);
    auto seeded = gate::seed_flows(g.flows_fd(), config, config.flow_idle_timeout_s);
    XK_INFO("%s: %zu established connection(s) to protected ports kept open, %s", ifname.c_str(),
            seeded.sockets + seeded.conntrack,
            seeded.conntrack_read ? "local sockets and conntrack"
                                  : "local sockets (conntrack table not readable: "
                                    "forwarded flows need a knock to continue)");
}

std::vector<std::unique_ptr<xsk::XskSocket>> open_sockets(const policy::Config &config,
                                                          const std::string &ifname, int xsks_fd,
                                                          uint32_t queues) {
    xsk::XskOptions xopts;
    xopts.busy_poll = config.busy_poll;
    xopts.frames = config.umem_frames;
    if (queues > XK_MAX_QUEUES) {
        XK_WARN(
            "%s: %u rx queues, but knocks are served on the first %d only; reduce the "
            "channels (ethtool -L) so none is dropped as knock_no_socket",
            ifname.c_str(), queues, XK_MAX_QUEUES);
    }
    std::vector<std::unique_ptr<xsk::XskSocket>> sockets;
    for (uint32_t q = 0; q < queues && q < XK_MAX_QUEUES; ++q) {
        sockets.push_back(xsk::XskSocket::open(ifname, q, xsks_fd, xopts));
        if (int err = sockets.back()->busy_poll_error()) {
            XK_WARN("%s queue %u: busy poll refused (%s): spinning without it", ifname.c_str(), q,
                    std::strerror(err));
        }
    }
    return sockets;
}

// One xdpknockd per interface: an abstract unix socket named after it, so per network
// namespace like the interface name, and released by the kernel however the holder ends
// (kill -9 included). A second daemon is refused before it loads, pins or writes anything.
int claim_interface(const std::string &ifname) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string name = "xdpknockd/" + ifname;  // after the leading 0: abstract
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(ifname + ": socket: " + std::strerror(errno));
    if (bind(fd, reinterpret_cast<sockaddr *>(&addr), len) == 0 && listen(fd, 1) == 0) return fd;
    const int err = errno;
    close(fd);
    if (err != EADDRINUSE)
        throw std::runtime_error(ifname + ": cannot claim: " + std::strerror(err));
    std::string holder = "another xdpknockd";
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ucred cred{};
    socklen_t clen = sizeof(cred);
    if (c >= 0 && connect(c, reinterpret_cast<sockaddr *>(&addr), len) == 0 &&
        getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
        holder += " (pid " + std::to_string(cred.pid) + ")";
    if (c >= 0) close(c);
    throw std::runtime_error(ifname + ": " + holder +
                             " already gates this interface; refused, its gate left as it is");
}

// The nftables gate's ports: the protected services, and the knock ports its chain drops
// after the AF_PACKET tap copied them (so nothing, not even an ICMP error, answers one).
nft::GateSpec nft_spec(const policy::Config &config, const std::string &ifname) {
    nft::GateSpec spec{ifname, {}, {}};
    for (const auto &svc : config.services) spec.services.push_back(svc.port);
    const packet::KnockPorts knocks = packet::knock_ports(config);
    for (uint16_t p : knocks.udp) spec.knocks.push_back({IPPROTO_UDP, p});
    for (uint16_t p : knocks.tcp) spec.knocks.push_back({IPPROTO_TCP, p});
    spec.icmp_knocks = knocks.icmp;
    spec.ifindex = if_nametoindex(ifname.c_str());
    return spec;
}

// A gate of the other kind left on the link (the config's "gate" changed since) would drop
// what this one passes, or keep the knocks from it: refused, named, until detached.
void refuse_the_other_gate(const policy::Interface &iface, const std::string &pin_root) {
    std::string other;
    if (iface.gate == policy::GateKind::nftables) {
        const std::string xdp = gate::attach_state(iface.name);
        std::error_code ec;
        if (xdp != "not attached" && xdp != "other XDP program attached" &&
            xdp != "no such interface here")
            other = "an XDP gate (" + xdp + ")";
        else if (std::filesystem::exists(gate::pin_dir_for(pin_root, iface.name), ec))
            other = "an XDP gate's pinned maps (" + gate::pin_dir_for(pin_root, iface.name) + ")";
    } else if (nft::NftGate::present(iface.name)) {
        other = "an nftables gate (table inet xdpknock)";
    }
    if (other.empty()) return;
    throw std::runtime_error(
        iface.name + ": " + other +
        " is still there from a run with the other \"gate\"; `xdpknock detach " + iface.name +
        "` removes it (the link is open until xdpknockd starts again)");
}

// One AF_PACKET fanout member per worker: the kernel spreads knocks over them by flow.
std::vector<std::unique_ptr<workers::FrameSource>> open_packet_sockets(const policy::Config &config,
                                                                       const std::string &ifname) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    const unsigned n =
        config.workers ? config.workers : static_cast<unsigned>(std::max(1L, online));
    const packet::KnockPorts ports = packet::knock_ports(config);
    const uint16_t group = packet::fanout_group_id(if_nametoindex(ifname.c_str()));
    packet::PacketOptions options;
    // A poller holds at most a batch (64) at once: twice that keeps one batch in reserve.
    options.pool_frames = 128;
    std::vector<std::unique_ptr<workers::FrameSource>> sockets;
    for (unsigned m = 0; m < n; ++m)
        sockets.push_back(packet::PacketSocket::open(ifname, m, group, ports, options));
    return sockets;
}

}  // namespace

GuardedInterface::GuardedInterface(std::shared_ptr<const policy::Config> shared,
                                   policy::ReplayStore &replay, const policy::Interface &iface,
                                   const std::string &pin_root, hooks::HookRunner *hooks,
                                   const std::vector<gate::SeqCurrent> &sequences,
                                   cluster::Cluster *cluster)
    : name_(iface.name), claim_fd_(claim_interface(iface.name)), hooks_(hooks) {
    const policy::Config &config = *shared;
    refuse_the_other_gate(iface, pin_root);
    std::vector<std::unique_ptr<workers::FrameSource>> sources;
    if (iface.gate == policy::GateKind::nftables) {
        nft_ = nft::NftGate::attach(nft_spec(config, name_));
        store_ =
            std::make_unique<nft::NftStore>(name_, auth::quotas_for(config), config.authorized_max);
        sources = open_packet_sockets(config, name_);
    } else {
        sources = attach_xdp(config, iface, pin_root, sequences);
    }
    if (nft::nat_wanted(config)) nat_ = nft::NatAccess::open(name_, config);
    if (cluster) store_ = std::make_unique<cluster::ClusterStore>(std::move(store_), *cluster);
    sink_ =
        std::make_shared<StoreGrantSink>(shared, *store_, iface.name, nullptr, hooks_, nat_.get());
    pool_ = std::make_unique<workers::WorkerPool>(shared, replay, sink_);
    const size_t nsources = sources.size();
    pool_->start(std::move(sources), {config.workers, config.cpus, !gate_ || gate_->raw_ip()});
    log_started(config, nsources);
}

// The XDP gate, its maps filled between load and attach, and one AF_XDP socket per rx queue.
std::vector<std::unique_ptr<workers::FrameSource>> GuardedInterface::attach_xdp(
    const policy::Config &config, const policy::Interface &iface, const std::string &pin_root,
    const std::vector<gate::SeqCurrent> &sequences) {
    gate::GateOptions options{iface.name, iface.mode, pin_root, config.authorized_max,
                              config.flow_idle_timeout_s};
    options.udp_idle_s = config.udp_timeout_s;
    options.udp_stream_idle_s = config.udp_stream_timeout_s;
    options.sequences = !gate::sequence_range_ids(config).empty();
    gate_ = gate::Gate::attach(options,
                               [&](gate::Gate &g) { fill_gate(g, config, iface.name, sequences); });
    auto store =
        std::make_unique<auth::Authorized>(gate_->authorized_fd(), auth::quotas_for(config));
    // The gate's pre-filter of this map: this store owns it (builds it, rebuilds it on sweep).
    store->use_filter(auth::AuthFilter::open(gate_->auth_filter_fd()), true);
    store_ = std::move(store);
    std::vector<std::unique_ptr<workers::FrameSource>> sources;
    for (auto &s :
         open_sockets(config, iface.name, gate_->xsks_fd(), xsk::rx_queue_count(iface.name)))
        sources.push_back(std::move(s));
    return sources;
}

void GuardedInterface::log_started(const policy::Config &config, size_t sources) const {
    std::string cpus;
    for (size_t w = 0; w < pool_->workers(); ++w) {
        const auto &info = pool_->info(w);
        cpus += (w ? " " : "") + std::to_string(info.cpu) + (info.poller ? "" : "+") + "q" +
                std::to_string(pool_->socket(info.socket).queue());
    }
    const size_t live = store_->count(monotonic_ns());
    const std::string nat = nat_ ? ", NAT access on" : "";
    if (nft_) {
        XK_INFO(
            "%s: gate attached (nftables, table inet %s), %zu AF_PACKET fanout member(s), %zu "
            "worker(s) [cpu/member: %s], %zu live authorization(s) kept from before%s",
            name_.c_str(), std::string(nft::kTable).c_str(), sources, pool_->workers(),
            cpus.c_str(), live, nat.c_str());
        return;
    }
    XK_INFO(
        "%s: gate attached (%s XDP, %s link), %zu rx queue(s), %zu worker(s) [cpu/queue: %s]%s, "
        "%zu live authorization(s) kept from before, maps in %s%s",
        name_.c_str(), gate_->mode_name(), gate_->raw_ip() ? "raw-IP" : "Ethernet", sources,
        pool_->workers(), cpus.c_str(), config.busy_poll ? ", busy poll" : "", live,
        gate_->pin_dir().c_str(), nat.c_str());
}

GuardedInterface::~GuardedInterface() {
    stop();
    close(claim_fd_);
}

void GuardedInterface::stop() {
    if (!pool_) return;
    pool_->stop();
    pool_.reset();  // closes the sockets: their xsks entries go with them
    if (std::string why = lost(); !why.empty()) {
        XK_INFO("%s: workers stopped; the gate's maps stay pinned for the next start",
                name_.c_str());
        return;
    }
    XK_INFO(
        "%s: gate left attached and closed (knocks dropped, grants expire on time, the next "
        "start adopts them); `xdpknock detach %s` removes it",
        name_.c_str(), name_.c_str());
}

GuardedInterface::Staged GuardedInterface::prepare(
    std::shared_ptr<const policy::Config> next) const {
    if (!pool_) throw std::logic_error(name_ + ": stopped");
    Staged s;
    s.sink =
        std::make_shared<StoreGrantSink>(next, *store_, name_, sink_.get(), hooks_, nat_.get());
    s.workers = pool_->prepare(std::move(next), s.sink);
    return s;
}

void GuardedInterface::write_maps(const policy::Config &config,
                                  const std::vector<gate::SeqCurrent> &sequences) {
    if (nat_) nat_->write_rules(config);
    if (nft_) {
        nft_->write_ports(nft_spec(config, name_));
        return;
    }
    gate::write_sequences(*gate_, config, sequences);  // before a port is flagged as a step
    gate::write_ports(gate_->ports_fd(), config);
    gate::write_wake_targets(gate_->wake_targets_fd(), config);
}

std::string GuardedInterface::lost() const {
    return gate_ ? gate_->lost() : nft_->lost();
}

const char *GuardedInterface::mode_name() const {
    return gate_ ? gate_->mode_name() : "nftables";
}

gate::Counters GuardedInterface::counters() const {
    return gate_ ? gate::read_counters(gate_->counters_fd()) : nft::gate_counters(nft_->counters());
}

void GuardedInterface::write_sequence(uint32_t seq_index, uint32_t range_id,
                                      const gate::SeqCurrent &current) {
    if (gate_)  // an nftables gate has no sequence ranges (refused at load)
        gate::write_sequence(*gate_, seq_index, range_id, sink_->config().ranges[range_id],
                             current);
}

void GuardedInterface::apply(Staged staged) {
    store_->set_quotas(auth::quotas_for(*staged.workers->config));
    sink_ = std::move(staged.sink);
    pool_->swap(std::move(staged.workers));
}

void GuardedInterface::sweep() {
    const uint64_t now = monotonic_ns();
    std::vector<auth::Entry> gone = store_->sweep(now);
    for (const auto &e : gone) {  // also what a peer's or the CLI's revoke ended
        const bool expired = e.value.expires_ns <= now;
        XK_INFO("%s: authorization of %s for %s %s", name_.c_str(),
                policy::format_address(e.addr).c_str(), policy::format_port(e.port).c_str(),
                expired ? "expired" : "ended by a revoke");
        if (!expired && nat_) nat_->unmap(e.addr);  // its forwarding ends with it
    }
    run_expire_hooks(gone);
}

size_t GuardedInterface::revoke(const policy::Address &source) {
    std::vector<auth::Entry> held;
    for (auto &e : store_->list())
        if (e.addr == source) held.push_back(e);
    const size_t n = store_->revoke(source);
    if (nat_) nat_->unmap(source);
    run_expire_hooks(held);
    return n;
}

// One on_expire per grant, as fwknopd runs one close command: the entries a grant wrote
// share their source, range, secret and expiry.
void GuardedInterface::run_expire_hooks(const std::vector<auth::Entry> &gone) {
    if (!hooks_) return;
    std::map<std::tuple<std::array<uint8_t, 16>, uint32_t, uint32_t, uint64_t>,
             std::vector<std::string>>
        ended;
    const auto &ranges = sink_->config().ranges;
    for (const auto &e : gone) {
        if (e.value.range_id < ranges.size() && !ranges[e.value.range_id].hooks.on_expire.empty())
            ended[{e.addr.bytes, e.value.range_id, e.value.secret_id, e.value.expires_ns}]
                .push_back(policy::format_port(e.port));
    }
    for (auto &[grant, ports] : ended) {
        std::sort(ports.begin(), ports.end());
        run_expire_hook(std::get<0>(grant), std::get<1>(grant), std::get<2>(grant), ports);
    }
}

// When the grant has left the map, not before: the range that granted it (by its id in the
// running config; a hand-made allow has none) runs its on_expire command.
void GuardedInterface::run_expire_hook(const std::array<uint8_t, 16> &addr, uint32_t range_id,
                                       uint32_t secret_id,
                                       const std::vector<std::string> &ports) const {
    const policy::Range &range = sink_->config().ranges[range_id];
    hooks::HookEvent ev;
    ev.ip = policy::format_address(policy::Address::from_bytes(addr.data()));
    ev.ports = ports;
    ev.range = range.name;
    if (secret_id < range.secrets.size()) ev.label = range.secrets[secret_id].label;
    hooks_->submit(hooks::expand(range.hooks.on_expire, ev), range.hooks.timeout_s,
                   "on_expire of range " + range.name);
}

}  // namespace xk::daemon
