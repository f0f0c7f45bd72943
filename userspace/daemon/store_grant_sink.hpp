#pragma once
// The daemon's grant sink: writes authorizations into the interface's store (the pinned
// map, or whatever wraps it) and logs each decision once, without secrets (the label names which
// secret matched). A grant the map refuses (the range's quota, a full map) is logged at most every
// few seconds per range, never per packet. One sink per config generation: a reload builds
// a new one (workers switch to it with their new policy, whose decisions index its config).

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "auth/authorization_store.hpp"
#include "auth/nat_table.hpp"
#include "hooks/hook_runner.hpp"
#include "workers/knock_handler.hpp"

namespace xk::daemon {

class StoreGrantSink : public workers::GrantSink {
  public:
    // before: the sink this one replaces on a reload; the grant counts of the ranges and
    // secrets both configs name (by range name and secret label) carry over.
    // hooks: where a range's on_authorize commands go (none: not run).
    // nat: where a grant with a NAT target is forwarded (none: no range forwards).
    StoreGrantSink(std::shared_ptr<const policy::Config> config, auth::AuthorizationStore &store,
                   std::string ifname, const StoreGrantSink *before = nullptr,
                   hooks::HookRunner *hooks = nullptr, auth::NatTable *nat = nullptr);

    spa::Reject grant(const policy::Knock &knock, const policy::Decision &decision) override;
    const policy::Config &config() const { return *config_; }
    // Shared: a holder of it keeps that config alive (an address alone could be reused).
    const std::shared_ptr<const policy::Config> &config_ptr() const { return config_; }
    // Grants made for one range and secret since start (across reloads, while both the
    // range's name and the secret's label stay).
    uint64_t accepted(uint32_t range_id, uint32_t secret_id) const;

  private:
    spa::Reject refused(const policy::Knock &knock, const policy::Decision &d, int err);
    void carry_counts(const StoreGrantSink &before);
    void run_hook(const policy::Knock &knock, const policy::Decision &d,
                  std::span<const policy::PortRef> ports);
    bool forward(const policy::Knock &knock, const policy::Decision &d);

    std::shared_ptr<const policy::Config> config_;
    auth::AuthorizationStore &store_;
    std::string ifname_;
    std::unique_ptr<std::atomic<int64_t>[]> last_refusal_log_;  // per range, monotonic s
    // Grants per (range, secret), flattened: allocated once, relaxed increments.
    std::vector<size_t> first_secret_;  // per range: its first slot in accepted_
    std::unique_ptr<std::atomic<uint64_t>[]> accepted_;
    hooks::HookRunner *hooks_;
    auth::NatTable *nat_;
};

}  // namespace xk::daemon
