#pragma once
// Completed port-knock sequences (method "sequence"): the gates judge every hit in XDP and
// put one seq_events record per completion; this box turns each into a grant through the
// interface's sink (log, counts, on_authorize hook), like a worker's knock. One thread,
// woken by the rings; a one-time sequence is marked used (and the gates moved to the next
// line) before its grant is written.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/one_time_ledger.hpp"
#include "xdpknock/maps.h"

struct ring_buffer;

namespace xk::daemon {

class GuardedInterface;

class SequenceService {
  public:
    // The one-time ledger lives in state_dir. Throws when it cannot be read.
    explicit SequenceService(const std::string &state_dir);
    ~SequenceService();
    SequenceService(const SequenceService &) = delete;
    SequenceService &operator=(const SequenceService &) = delete;

    // What the gates' seq_ranges hold for config (gate::write_sequences). Before start(), or
    // under hold(): the ledger changes on the service's thread.
    std::vector<gate::SeqCurrent> currents(const policy::Config &config) const {
        return ledger_.currents(config);
    }
    void watch(GuardedInterface &iface);  // its seq_events ring; before start()
    void start();
    void stop();
    // Held by a reload from writing the gates' maps until the new sinks are in place: an
    // event is judged against one config, whole.
    std::unique_lock<std::mutex> hold() { return std::unique_lock(mu_); }

  private:
    struct Ring {
        SequenceService *service;
        GuardedInterface *iface;
    };
    static int on_record(void *ctx, void *data, size_t size);
    void on_event(GuardedInterface &iface, const xk_seq_event &e);
    bool consume_one_time(const policy::Config &config, uint32_t range_id, uint32_t generation);

    mutable std::mutex mu_;  // the ledger, and the configs the sinks hold
    OneTimeLedger ledger_;
    std::vector<std::unique_ptr<Ring>> rings_;
    std::vector<GuardedInterface *> ifaces_;
    ring_buffer *rb_ = nullptr;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace xk::daemon
