#pragma once
// The grant store of an nftables gate: the four grant sets of one interface
// (nft/nft_ruleset.hpp), with the kernel expiring elements on time. A mirror in memory
// {(source, port) -> expiry, range, secret} answers extend-only and the range quotas
// without a kernel read per grant; it is loaded from the kernel at construction (a
// restart adopts what the last run granted) and reconciled with it by sweep().
//
// Group commit: grants from many workers are queued; the first thread in becomes the
// writer, plans the queue against the mirror and commits it as one netlink batch while
// the others wait for their result. If the batch fails, its grants are retried one by one
// so only the faulty one fails.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "auth/authorization_store.hpp"
#include "auth/source_counts.hpp"
#include "nft/nft_gate.hpp"

namespace xk::nft {

class NftStore : public auth::AuthorizationStore {
  public:
    // No accounting: hand edits (`xdpknock allow/revoke`), whose entries count to no range.
    explicit NftStore(std::string ifname, uint32_t max_entries = XK_AUTH_MAX_ENTRIES);
    // Accounting per range, counted from the elements already in the sets (their comment's
    // range). Both throw std::runtime_error when the interface has no nftables gate.
    NftStore(std::string ifname, std::vector<auth::RangeQuota> quotas, uint32_t max_entries);
    NftStore(const NftStore &) = delete;
    NftStore &operator=(const NftStore &) = delete;

    // Returns 0, kRangeFull, kMapFull, -E2BIG (too many ports) or nft's -errno.
    int grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
              uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) override;
    // Removes every element of addr the kernel holds now (another process may have added
    // some); returns how many.
    size_t revoke(const policy::Address &addr) override;
    // The kernel's elements now; a missing or garbled comment reads as kHandRange.
    std::vector<auth::Entry> list() const override;
    // Drops mirror entries that expired before now_ns (the kernel drops its own) or that
    // another process deleted, and returns them; adopts elements others added. The kernel
    // is listed for that at most 5% of the time (10,000 elements take ~0.1 s to list).
    std::vector<auth::Entry> sweep(uint64_t now_ns) override;
    size_t count(uint64_t now_ns) const override;
    auth::RangeUsage usage(uint32_t range_id) const override;
    void set_quotas(std::vector<auth::RangeQuota> quotas) override;

    struct GrantRequest {
        policy::Address addr;
        std::vector<policy::PortRef> ports;
        uint32_t timeout_s = 0, range_id = auth::kHandRange, secret_id = UINT32_MAX;
    };
    // Many grants as one batch (a benchmark, a bulk import); one result per request.
    std::vector<int> grant_many(std::span<const GrantRequest> requests);
    // Netlink batches committed so far (group commit's effect, for tests and stats).
    uint64_t batches() const;

  private:
    struct Key {
        policy::Address addr;
        policy::PortRef port;
        bool operator<(const Key &o) const;
    };
    // One grant waiting for the writer; it lives on its caller's stack.
    struct Pending {
        policy::Address addr;
        std::span<const policy::PortRef> ports;
        uint64_t expires_ns = 0, timeout_ms = 0;
        uint32_t range_id = 0, secret_id = 0;
        int result = 0;
        bool done = false;
    };
    // What a planned grant changed in the mirror, to undo it if its commit fails.
    struct Undo {
        Key key;
        bool existed;
        xk_auth_value old;
    };
    struct Planned {
        Pending *pending;
        std::vector<Undo> undo;
        std::string script;
    };
    class WriterTurn;

    void enqueue_and_wait(std::span<Pending> pendings);
    void commit(const std::vector<Pending *> &batch) noexcept;
    int plan(Pending &p, Planned &out);
    void undo(const Planned &planned);
    int commit_one(Pending &p);
    std::vector<auth::Entry> read_kernel(uint64_t &listed_at) const;
    void adopt_one(const auth::Entry &e, uint64_t live_after);
    void count_in(const Key &key, uint32_t range_id);
    void count_out(const Key &key, uint32_t range_id);
    void reconcile(std::vector<auth::Entry> &kernel, uint64_t live_after,
                   std::vector<auth::Entry> &gone);

    std::string ifname_;
    uint32_t max_entries_;
    mutable NftContext nft_;

    // The mirror and the accounting (empty quotas: none).
    mutable std::mutex mu_;
    std::map<Key, xk_auth_value> mirror_;
    std::vector<auth::RangeQuota> quotas_;
    std::unique_ptr<auth::SourceCounts> counts_;
    std::vector<uint64_t> refused_range_full_, refused_map_full_;

    // The queue and the writer's turn: one writer at a time commits, revokes or sweeps,
    // so the mirror changes in the order batches reach the kernel.
    mutable std::mutex queue_mu_;
    std::condition_variable queue_cv_;
    std::deque<Pending *> queue_;
    bool writing_ = false;
    std::atomic<uint64_t> batches_{0};
    uint64_t reconcile_after_ns_ = 0;  // sweeps list the kernel again from then (writer's turn)
};

}  // namespace xk::nft
