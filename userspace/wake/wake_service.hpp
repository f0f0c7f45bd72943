#pragma once
// The wake box: consumes the gates' wake_events ring buffers and, per host, checks whether
// it already answers (ARP / NDP), else sends magic packets every repeat_ms until it does or
// timeout_s passes. One thread; one wake at a time per host; every wake logged with the
// SYN and the secret that asked for it.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "policy/config.hpp"
#include "wake/link_sockets.hpp"
#include "xdpknock/maps.h"

struct ring_buffer;

namespace xk::wake {

// What status shows of a host: its state as last probed and its last (or running) wake.
struct LastWake {
    int64_t at = 0;  // unix seconds
    std::string trigger, source, service, range, secret, result;
    unsigned magic_packets = 0;
    uint64_t ms = 0;  // from the SYN to the answer (or until now, while it runs)
};
struct HostStatus {
    std::string name, mac, interface;
    std::string state;      // awake / asleep as last probed, waking, or unknown
    int64_t probed_at = 0;  // unix seconds
    uint64_t wakes = 0, already_awake = 0, coalesced = 0;
    std::optional<LastWake> last_wake;
};

class WakeService {
  public:
    // Opens the sockets on every host's interface: a missing one fails here, at start.
    explicit WakeService(const policy::Config &config);
    ~WakeService();
    WakeService(const WakeService &) = delete;
    WakeService &operator=(const WakeService &) = delete;

    void watch(int wake_events_fd);  // a gate's ring buffer; call before start()
    void start();
    void stop();
    // Per host: awake / asleep as last probed, and the last wake with its trigger.
    std::vector<HostStatus> hosts() const;

  private:
    enum class Phase { idle, checking, waking };
    struct Wake {  // the last (or running) wake of a host, for logs and status
        std::string trigger, source, service, range, secret, result;
        int64_t at = 0;  // unix seconds
        uint64_t started_ns = 0, ended_ns = 0;
        unsigned magic_packets = 0;
    };
    struct HostState {
        const policy::Host *host = nullptr;
        LinkSockets *link = nullptr;
        Phase phase = Phase::idle;
        uint64_t next_ns = 0, deadline_ns = 0;
        std::string probed = "unknown";  // awake / asleep, as the last probe said
        int64_t probed_at = 0;
        uint64_t wakes = 0, already_awake = 0, coalesced = 0, send_errors = 0;
        Wake last;
    };

    static int on_ring_record(void *ctx, void *data, size_t size);
    void on_event(const xk_wake_event &e);
    void on_answer(const policy::Address &from);
    void step(uint64_t now_ns);
    void run();
    std::string describe_secret(uint32_t range_id, uint32_t secret_id) const;

    const policy::Config &config_;
    std::map<std::string, std::unique_ptr<LinkSockets>> links_;  // by interface name
    std::vector<HostState> hosts_;                               // host id - 1
    ring_buffer *rings_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;  // hosts_ between the wake thread and stats()
};

}  // namespace xk::wake
