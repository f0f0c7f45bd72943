#pragma once
// Everything the daemon runs for one interface: the gate (XDP, or an nftables chain), where
// its knocks arrive (AF_XDP sockets, or AF_PACKET fanout members), the workers, the store
// and sink grants go through, and NAT access when a range forwards.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/authorized.hpp"
#include "daemon/store_grant_sink.hpp"
#include "gate/gate.hpp"
#include "gate/counters.hpp"
#include "gate/sequences.hpp"
#include "nft/nft_gate.hpp"
#include "nft/nft_nat.hpp"
#include "workers/worker_pool.hpp"

namespace xk::cluster {
class Cluster;
}

namespace xk::daemon {

class GuardedInterface {
  public:
    // hooks: where the ranges' on_authorize / on_expire commands go (null: none run).
    // cluster: shares this gate's grants and revokes with the other gateways (null: none).
    // sequences: what the gate's sequence ranges take at attach (SequenceService::currents).
    GuardedInterface(std::shared_ptr<const policy::Config> config, policy::ReplayStore &replay,
                     const policy::Interface &iface, const std::string &pin_root,
                     hooks::HookRunner *hooks = nullptr,
                     const std::vector<gate::SeqCurrent> &sequences = {},
                     cluster::Cluster *cluster = nullptr);
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
    void write_maps(const policy::Config &config, const std::vector<gate::SeqCurrent> &sequences);
    void apply(Staged staged);

    // Stops the workers and leaves the gate attached and closed: only `xdpknock detach`
    // removes a gate (fail closed on stop, crash and upgrade alike).
    void stop();
    // Deletes expired grants; each one's range runs its on_expire hook.
    void sweep();
    // Ends every grant of source now (a revoke sequence), with their on_expire hooks.
    // Returns the map entries removed.
    size_t revoke(const policy::Address &source);
    const std::string &name() const { return name_; }
    // "" while the gate still runs on its interface; else why not (gate::Gate::lost).
    std::string lost() const;
    // The XDP gate's event rings (wake, sequences, http); -1 on an nftables gate, which has
    // none (the config refuses what would need them there).
    int wake_events_fd() const { return gate_ ? gate_->wake_events_fd() : -1; }
    // For SequenceService: completed sequences, a one-time range's next sequence, and the
    // grant of a completion through the current sink.
    int seq_events_fd() const { return gate_ ? gate_->seq_events_fd() : -1; }
    int http_events_fd() const { return gate_ ? gate_->http_events_fd() : -1; }
    void write_sequence(uint32_t seq_index, uint32_t range_id, const gate::SeqCurrent &current);
    spa::Reject grant(const policy::Knock &knock, const policy::Decision &d) {
        return sink_->grant(knock, d);
    }
    // For stats::collect: the gate's kind and counters (an nftables gate's in the XDP
    // counters' terms), and the workers (null once stopped).
    const char *mode_name() const;
    gate::Counters counters() const;
    int authorized_fd() const { return gate_ ? gate_->authorized_fd() : -1; }
    const workers::WorkerPool *pool() const { return pool_.get(); }
    const auth::AuthorizationStore &store() const { return *store_; }
    const StoreGrantSink &sink() const { return *sink_; }

  private:
    std::vector<std::unique_ptr<workers::FrameSource>> attach_xdp(
        const policy::Config &config, const policy::Interface &iface, const std::string &pin_root,
        const std::vector<gate::SeqCurrent> &sequences);
    void log_started(const policy::Config &config, size_t sources) const;
    void run_expire_hooks(const std::vector<auth::Entry> &gone);
    void run_expire_hook(const std::array<uint8_t, 16> &addr, uint32_t range_id, uint32_t secret_id,
                         const std::vector<std::string> &ports) const;

    std::string name_;
    int claim_fd_;  // this interface's claim: one xdpknockd per interface per netns
    std::unique_ptr<gate::Gate> gate_;                 // the XDP gate, or
    std::unique_ptr<nft::NftGate> nft_;                // the nftables gate
    std::unique_ptr<nft::NatAccess> nat_;              // null: no range forwards
    std::unique_ptr<auth::AuthorizationStore> store_;  // the gate's; a cluster wraps it
    std::shared_ptr<StoreGrantSink> sink_;             // the current generation's
    std::unique_ptr<workers::WorkerPool> pool_;
    hooks::HookRunner *hooks_;
};

}  // namespace xk::daemon
