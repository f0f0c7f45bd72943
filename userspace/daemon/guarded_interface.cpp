#include "daemon/guarded_interface.hpp"

#include "gate/counters.hpp"
#include "gate/ports.hpp"
#include "log/log.hpp"

namespace xk::daemon {

GuardedInterface::GuardedInterface(const policy::Config &config, policy::ReplayCache &replay,
                                   const policy::Interface &iface, const std::string &pin_root)
    : name_(iface.name) {
    gate_ = gate::Gate::attach({iface.name, iface.mode, pin_root});
    gate::write_ports(gate_->ports_fd(), config);
    sink_ = std::make_unique<MapGrantSink>(config, gate_->authorized_fd(), iface.name);

    uint32_t queues = xsk::rx_queue_count(iface.name);
    std::vector<std::unique_ptr<xsk::XskSocket>> sockets;
    for (uint32_t q = 0; q < queues && q < XK_MAX_QUEUES; ++q) {
        sockets.push_back(xsk::XskSocket::open(iface.name, q, gate_->xsks_fd()));
    }
    pool_ = std::make_unique<workers::WorkerPool>(config, replay, *sink_);
    pool_->start(std::move(sockets));
    XK_INFO(
        "%s: gate attached (%s XDP), %u rx queue(s), %zu authorization(s) kept from before, "
        "maps in %s",
        name_.c_str(), gate_->mode_name(), queues, sink_->authorized().list().size(),
        gate_->pin_dir().c_str());
}

GuardedInterface::~GuardedInterface() {
    stop(true);
}

void GuardedInterface::stop(bool keep_attached) {
    if (!pool_) return;
    pool_->stop();
    pool_.reset();  // closes the sockets: their xsks entries go with them
    if (keep_attached) {
        XK_INFO("%s: leaving the gate attached and its maps pinned", name_.c_str());
    } else {
        gate_->detach_and_unpin();
        XK_INFO("%s: gate detached, pins removed", name_.c_str());
    }
}

void GuardedInterface::sweep() {
    for (const auto &e : sink_->authorized().sweep(auth::monotonic_ns())) {
        XK_INFO("%s: authorization of %s for %s expired", name_.c_str(),
                policy::format_address(e.addr).c_str(), policy::format_port(e.port).c_str());
    }
}

nlohmann::json GuardedInterface::stats() const {
    nlohmann::json queues = nlohmann::json::array();
    for (size_t i = 0; pool_ && i < pool_->size(); ++i) {
        const auto &s = pool_->stats(i);
        auto ring = pool_->socket(i).stats();
        nlohmann::json rejected = nlohmann::json::object();
        for (size_t r = 0; r < spa::kRejectCount; ++r) {
            uint64_t v = s.rejected[r].load(std::memory_order_relaxed);
            if (v) rejected[spa::reject_name(static_cast<spa::Reject>(r))] = v;
        }
        queues.push_back({{"queue", pool_->socket(i).queue()},
                          {"frames", s.frames.load(std::memory_order_relaxed)},
                          {"accepted", s.accepted.load(std::memory_order_relaxed)},
                          {"rejected", rejected},
                          {"ring_full", ring.rx_ring_full},
                          {"rx_dropped", ring.rx_dropped},
                          {"fill_empty", ring.fill_empty}});
    }
    return {{"interface", name_}, {"mode", gate_->mode_name()}, {"queues", queues}};
}

}  // namespace xk::daemon
