#include "wake/wake_service.hpp"

#include <bpf/libbpf.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log/log.hpp"

namespace xk::wake {
namespace {

// A host that answers within this long after the SYN is awake, and is not woken.
constexpr uint64_t kAwakeCheckNs = 200'000'000;
constexpr uint64_t kMs = 1'000'000;

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

}  // namespace

WakeService::WakeService(const policy::Config &config) : config_(config) {
    hosts_.resize(config.hosts.size());
    for (size_t i = 0; i < config.hosts.size(); ++i) {
        const policy::Host &h = config.hosts[i];
        auto &link = links_[h.interface];
        if (!link) {
            try {
                link = std::make_unique<LinkSockets>(h.interface);
            } catch (const WakeError &e) {
                throw WakeError("hosts[" + std::to_string(i) + "].interface: " + e.what());
            }
        }
        hosts_[i].host = &h;
        hosts_[i].link = link.get();
    }
}

WakeService::~WakeService() {
    stop();
    if (rings_) ring_buffer__free(rings_);
}

void WakeService::watch(int wake_events_fd) {
    int err = rings_ ? ring_buffer__add(rings_, wake_events_fd, on_ring_record, this)
                     : ((rings_ = ring_buffer__new(wake_events_fd, on_ring_record, this, nullptr))
                            ? 0
                            : -errno);
    if (err) throw WakeError(std::string("wake_events ring buffer: ") + std::strerror(-err));
}

void WakeService::start() {
    if (!rings_ || thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void WakeService::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

int WakeService::on_ring_record(void *ctx, void *data, size_t size) {
    if (size >= sizeof(xk_wake_event)) {
        xk_wake_event e;
        std::memcpy(&e, data, sizeof(e));
        static_cast<WakeService *>(ctx)->on_event(e);
    }
    return 0;
}

std::string WakeService::describe_secret(uint32_t range_id, uint32_t secret_id) const {
    if (range_id >= config_.ranges.size()) return "manual grant (xdpknock allow)";
    const policy::Range &r = config_.ranges[range_id];
    if (secret_id >= r.secrets.size()) return "range " + r.name;
    return "range " + r.name + ", secret " + r.secrets[secret_id].label;
}

void WakeService::on_event(const xk_wake_event &e) {
    std::lock_guard lock(mutex_);
    if (e.host == 0 || e.host > hosts_.size()) return;  // a stale pinned map's host id
    HostState &h = hosts_[e.host - 1];
    if (h.phase != Phase::idle) {
        ++h.coalesced;  // one wake at a time: the running one serves this SYN too
        return;
    }
    const policy::PortRef port{6, e.dport};
    std::string service = policy::format_port(port);
    for (const auto &s : config_.services) {
        if (s.port == port && s.host == e.host - 1) {
            service += " (" + s.name + ")";
            break;
        }
    }
    h.last = {};
    h.last.source = policy::format_address(policy::Address::from_bytes(e.saddr));
    h.last.service = service;
    if (e.range_id < config_.ranges.size()) {
        const policy::Range &r = config_.ranges[e.range_id];
        h.last.range = r.name;
        if (e.secret_id < r.secrets.size()) h.last.secret = r.secrets[e.secret_id].label;
    }
    h.last.trigger = "authorized SYN from " + h.last.source + " to " + service + " (" +
                     describe_secret(e.range_id, e.secret_id) + ")";
    h.last.at = time(nullptr);
    h.last.started_ns = monotonic_ns();
    h.last.result = "checking";
    h.phase = Phase::checking;
    h.next_ns = h.deadline_ns = h.last.started_ns + kAwakeCheckNs;
    h.link->send_probe(*h.host);
    XK_DEBUG("wake %s: %s; probing first", h.host->name.c_str(), h.last.trigger.c_str());
}

void WakeService::on_answer(const policy::Address &from) {
    std::lock_guard lock(mutex_);
    const uint64_t now = monotonic_ns();
    for (HostState &h : hosts_) {
        if (from != h.host->ipv4 && from != h.host->ipv6) continue;
        h.probed = "awake";
        h.probed_at = time(nullptr);
        if (h.phase == Phase::checking) {
            ++h.already_awake;
            h.last.result = "already awake";
            h.last.ended_ns = now;
            XK_INFO("wake %s: already awake, not woken; %s", h.host->name.c_str(),
                    h.last.trigger.c_str());
        } else if (h.phase == Phase::waking) {
            h.last.result = "woke";
            h.last.ended_ns = now;
            XK_INFO("wake %s: up after %u magic packet(s), %llu ms; %s", h.host->name.c_str(),
                    h.last.magic_packets,
                    static_cast<unsigned long long>((now - h.last.started_ns) / kMs),
                    h.last.trigger.c_str());
        }
        h.phase = Phase::idle;
    }
}

void WakeService::step(uint64_t now) {
    std::lock_guard lock(mutex_);
    for (HostState &h : hosts_) {
        if (h.phase == Phase::idle || now < h.next_ns) continue;
        const policy::Host &host = *h.host;
        if (h.phase == Phase::checking) {  // silent: asleep, so the burst starts
            h.probed = "asleep";
            h.probed_at = time(nullptr);
            h.phase = Phase::waking;
            h.deadline_ns = now + uint64_t(host.timeout_s) * 1'000'000'000u;
            h.last.result = "waking";
            ++h.wakes;
            XK_INFO("wake %s (%s on %s): %s", host.name.c_str(), format_mac(host.mac).c_str(),
                    host.interface.c_str(), h.last.trigger.c_str());
        } else if (now >= h.deadline_ns) {
            h.phase = Phase::idle;
            h.last.result = "timeout";
            h.last.ended_ns = now;
            XK_WARN("wake %s: no answer within %u s after %u magic packet(s); %s",
                    host.name.c_str(), host.timeout_s, h.last.magic_packets,
                    h.last.trigger.c_str());
            continue;
        }
        if (h.link->send_magic(host)) {
            ++h.last.magic_packets;
        } else if (h.send_errors++ == 0) {
            XK_WARN("wake %s: cannot send the magic packet on %s: %s", host.name.c_str(),
                    host.interface.c_str(), std::strerror(errno));
        }
        h.link->send_probe(host);
        h.next_ns = now + uint64_t(host.repeat_ms) * kMs;
    }
}

void WakeService::run() {
    std::vector<pollfd> fds;
    fds.push_back({ring_buffer__epoll_fd(rings_), POLLIN, 0});
    for (const auto &[_, link] : links_) {
        fds.push_back({link->arp_fd(), POLLIN, 0});
        if (link->ndp_fd() >= 0) fds.push_back({link->ndp_fd(), POLLIN, 0});
    }
    while (!stop_) {
        // Short ticks only while a wake runs: repeat_ms is at least 10 ms.
        bool busy;
        {
            std::lock_guard lock(mutex_);
            busy = std::any_of(hosts_.begin(), hosts_.end(),
                               [](const HostState &h) { return h.phase != Phase::idle; });
        }
        poll(fds.data(), fds.size(), busy ? 5 : 100);
        ring_buffer__consume(rings_);
        for (const auto &[_, link] : links_) {
            for (const auto &a : link->answers()) on_answer(a);
        }
        step(monotonic_ns());
    }
}

std::vector<HostStatus> WakeService::hosts() const {
    std::lock_guard lock(mutex_);
    std::vector<HostStatus> out;
    out.reserve(hosts_.size());
    for (const HostState &h : hosts_) {
        HostStatus s{h.host->name,      format_mac(h.host->mac),
                     h.host->interface, h.phase == Phase::waking ? "waking" : h.probed,
                     h.probed_at,       h.wakes,
                     h.already_awake,   h.coalesced,
                     std::nullopt};
        if (h.last.at) {
            const uint64_t end = h.last.ended_ns ? h.last.ended_ns : monotonic_ns();
            s.last_wake =
                LastWake{h.last.at,      h.last.trigger,       h.last.source,
                         h.last.service, h.last.range,         h.last.secret,
                         h.last.result,  h.last.magic_packets, (end - h.last.started_ns) / kMs};
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace xk::wake
