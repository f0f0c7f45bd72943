#pragma once
// Everything the daemon runs for one interface: the gate, its AF_XDP sockets and
// workers, and the sink that writes grants into that interface's map.

#include <memory>
#include <vector>

#include "auth/authorized.hpp"
#include "daemon/store_grant_sink.hpp"
#include "gate/gate.hpp"
#include "workers/worker_pool.hpp"

namespace xk::daemon {

class GuardedInterface {
  public:
    GuardedInterface(std::shared_ptr<const policy::Config> config, policy::ReplayCache &replay,
                     const policy::Interface &iface, const std::string &pin_root);
    ~GuardedInterface();

    // A reload, in steps that keep the old config whole until the last one:
    // prepare() builds what can fail (the workers' policies, the new sink) and changes
    // nothing; write_maps() rewrites the gate's ports and wake targets (knock ports, their
    // pre-filter and rate, protected services) and may throw; apply() hands the workers
    // the new generation (taken before their next batch) and the store its quotas.
    struct Staged {
        std::shared_ptr<StoreGrantSink> sink;
        std::shared_ptr<const workers::WorkerPool::Generation> workers;
    };
    Staged prepare(std::shared_ptr<const policy::Config> next) const;
    void write_maps(const policy::Config &config);
    void apply(Staged staged);

    // Stops the workers and leaves the gate attached and closed: only `xdpknock detach`
    // removes a gate (fail closed on stop, crash and upgrade alike).
    void stop();
    void sweep();
    const std::string &name() const { return name_; }
    int wake_events_fd() const { return gate_->wake_events_fd(); }  // for wake::WakeService
    // For stats::collect: the gate's maps, and the workers (null once stopped).
    const gate::Gate &gate() const { return *gate_; }
    const workers::WorkerPool *pool() const { return pool_.get(); }
    const auth::AuthorizationStore &store() const { return *store_; }
    const StoreGrantSink &sink() const { return *sink_; }

  private:
    std::string name_;
    std::unique_ptr<gate::Gate> gate_;
    std::unique_ptr<auth::AuthorizationStore> store_;  // the gate's map; a cluster wraps it
    std::shared_ptr<StoreGrantSink> sink_;             // the current generation's
    std::unique_ptr<workers::WorkerPool> pool_;
};

}  // namespace xk::daemon
