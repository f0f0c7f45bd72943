#include "daemon/guarded_interface.hpp"

#include "hooks/hook_args.hpp"

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
#include <stdexcept>

#include "auth/auth_filter.hpp"
#include "cluster/cluster_store.hpp"
#include "gate/counters.hpp"
#include "gate/flow_seed.hpp"
#include "gate/ports.hpp"
#include "log/log.hpp"

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

}  // namespace

GuardedInterface::GuardedInterface(std::shared_ptr<const policy::Config> shared,
                                   policy::ReplayStore &replay, const policy::Interface &iface,
                                   const std::string &pin_root, hooks::HookRunner *hooks,
                                   const std::vector<gate::SeqCurrent> &sequences,
                                   cluster::Cluster *cluster)
    : name_(iface.name), claim_fd_(claim_interface(iface.name)), hooks_(hooks) {
    const policy::Config &config = *shared;
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
    if (cluster) {
        store_ = std::make_unique<cluster::ClusterStore>(std::move(store), *cluster);
    } else {
        store_ = std::move(store);
    }
    sink_ = std::make_shared<StoreGrantSink>(shared, *store_, iface.name, nullptr, hooks_);

    uint32_t queues = xsk::rx_queue_count(iface.name);
    pool_ = std::make_unique<workers::WorkerPool>(shared, replay, sink_);
    pool_->start(open_sockets(config, iface.name, gate_->xsks_fd(), queues),
                 {config.workers, config.cpus, gate_->raw_ip()});
    std::string cpus;
    for (size_t w = 0; w < pool_->workers(); ++w) {
        const auto &info = pool_->info(w);
        cpus += (w ? " " : "") + std::to_string(info.cpu) + (info.poller ? "" : "+") + "q" +
                std::to_string(pool_->socket(info.socket).queue());
    }
    const size_t live = store_->count(monotonic_ns());
    XK_INFO(
        "%s: gate attached (%s XDP, %s link), %u rx queue(s), %zu worker(s) [cpu/queue: %s]%s, "
        "%zu live authorization(s) kept from before, maps in %s",
        name_.c_str(), gate_->mode_name(), gate_->raw_ip() ? "raw-IP" : "Ethernet", queues,
        pool_->workers(), cpus.c_str(), config.busy_poll ? ", busy poll" : "", live,
        gate_->pin_dir().c_str());
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
    s.sink = std::make_shared<StoreGrantSink>(next, *store_, name_, sink_.get(), hooks_);
    s.workers = pool_->prepare(std::move(next), s.sink);
    return s;
}

void GuardedInterface::write_maps(const policy::Config &config,
                                  const std::vector<gate::SeqCurrent> &sequences) {
    gate::write_sequences(*gate_, config, sequences);  // before a port is flagged as a step
    gate::write_ports(gate_->ports_fd(), config);
    gate::write_wake_targets(gate_->wake_targets_fd(), config);
}

void GuardedInterface::write_sequence(uint32_t seq_index, uint32_t range_id,
                                      const gate::SeqCurrent &current) {
    gate::write_sequence(*gate_, seq_index, range_id, sink_->config().ranges[range_id], current);
}

void GuardedInterface::apply(Staged staged) {
    store_->set_quotas(auth::quotas_for(*staged.workers->config));
    sink_ = std::move(staged.sink);
    pool_->swap(std::move(staged.workers));
}

void GuardedInterface::sweep() {
    const uint64_t now = monotonic_ns();
    std::vector<auth::Entry> gone = store_->sweep(now);
    for (const auto &e : gone)  // a cluster's store also returns what a peer's revoke ended
        XK_INFO("%s: authorization of %s for %s %s", name_.c_str(),
                policy::format_address(e.addr).c_str(), policy::format_port(e.port).c_str(),
                e.value.expires_ns <= now ? "expired" : "ended by a revoke");
    run_expire_hooks(gone);
}

size_t GuardedInterface::revoke(const policy::Address &source) {
    std::vector<auth::Entry> held;
    for (auto &e : store_->list())
        if (e.addr == source) held.push_back(e);
    const size_t n = store_->revoke(source);
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
