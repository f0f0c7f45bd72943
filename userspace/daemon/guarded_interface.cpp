#include "daemon/guarded_interface.hpp"

#include <array>
#include <cstring>
#include <stdexcept>

#include "auth/auth_filter.hpp"
#include "gate/counters.hpp"
#include "gate/flow_seed.hpp"
#include "gate/ports.hpp"
#include "log/log.hpp"

namespace xk::daemon {

namespace {

// Fills the maps between load and attach: ports, wake targets, and the connections that
// are open now (so attaching the gate cuts no session).
void fill_gate(gate::Gate &g, const policy::Config &config, const std::string &ifname) {
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

}  // namespace

GuardedInterface::GuardedInterface(std::shared_ptr<const policy::Config> shared,
                                   policy::ReplayCache &replay, const policy::Interface &iface,
                                   const std::string &pin_root)
    : name_(iface.name) {
    const policy::Config &config = *shared;
    gate::GateOptions options{iface.name, iface.mode, pin_root, config.authorized_max,
                              config.flow_idle_timeout_s};
    gate_ = gate::Gate::attach(options, [&](gate::Gate &g) { fill_gate(g, config, iface.name); });
    auto store =
        std::make_unique<auth::Authorized>(gate_->authorized_fd(), auth::quotas_for(config));
    // The gate's pre-filter of this map: this store owns it (builds it, rebuilds it on sweep).
    store->use_filter(auth::AuthFilter::open(gate_->auth_filter_fd()), true);
    store_ = std::move(store);
    sink_ = std::make_shared<StoreGrantSink>(shared, *store_, iface.name);

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
}

void GuardedInterface::stop() {
    if (!pool_) return;
    pool_->stop();
    pool_.reset();  // closes the sockets: their xsks entries go with them
    XK_INFO(
        "%s: gate left attached and closed (knocks dropped, grants expire on time, the next "
        "start adopts them); `xdpknock detach %s` removes it",
        name_.c_str(), name_.c_str());
}

GuardedInterface::Staged GuardedInterface::prepare(
    std::shared_ptr<const policy::Config> next) const {
    if (!pool_) throw std::logic_error(name_ + ": stopped");
    Staged s;
    s.sink = std::make_shared<StoreGrantSink>(next, *store_, name_, sink_.get());
    s.workers = pool_->prepare(std::move(next), s.sink);
    return s;
}

void GuardedInterface::write_maps(const policy::Config &config) {
    gate::write_ports(gate_->ports_fd(), config);
    gate::write_wake_targets(gate_->wake_targets_fd(), config);
}

void GuardedInterface::apply(Staged staged) {
    store_->set_quotas(auth::quotas_for(*staged.workers->config));
    sink_ = std::move(staged.sink);
    pool_->swap(std::move(staged.workers));
}

void GuardedInterface::sweep() {
    for (const auto &e : store_->sweep(monotonic_ns())) {
        XK_INFO("%s: authorization of %s for %s expired", name_.c_str(),
                policy::format_address(e.addr).c_str(), policy::format_port(e.port).c_str());
    }
}

}  // namespace xk::daemon
