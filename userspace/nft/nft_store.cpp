#include "nft/nft_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "auth/authorized.hpp"
#include "log/log.hpp"

namespace xk::nft {
namespace {

using auth::Entry;
using nlohmann::json;

constexpr uint64_t kNsPerSecond = 1000000000ull;
// The kernel lists remaining time in whole seconds: a mirror expiry within this of the
// kernel's is the same grant, not one someone else changed.
constexpr uint64_t kListingSlackNs = 2 * kNsPerSecond;
// After a listing that took t, sweeps skip the kernel for kListingPause * t: the listing
// stays under 5% of a core whatever the set's size (10,000 elements: every ~2 s).
constexpr uint64_t kListingPause = 19;

policy::PortRef key_port(const policy::PortRef &p) {
    return p.proto == 0 ? policy::PortRef{} : p;
}

std::optional<uint8_t> proto_of(const json &j) {
    if (j.is_number_unsigned() && j.get<uint64_t>() <= 255) return j.get<uint8_t>();
    if (j.is_string() && j.get<std::string>() == "tcp") return uint8_t{6};
    if (j.is_string() && j.get<std::string>() == "udp") return uint8_t{17};
    return std::nullopt;
}

// One element of a set's JSON listing: a bare key, or {"elem": {"val", "timeout",
// "expires" (whole seconds left), "comment"}}. A key is an address, or a concatenation
// [address, protocol, port].
std::optional<Entry> parse_element(const json &item, bool with_port, uint64_t listed_at) {
    const json *val = &item, *meta = nullptr;
    if (item.is_object() && item.contains("elem")) {
        meta = &item["elem"];
        if (!meta->contains("val")) return std::nullopt;
        val = &(*meta)["val"];
    }
    Entry e;
    const json *addr = val;
    if (with_port) {
        if (!val->is_object() || !val->contains("concat") || (*val)["concat"].size() != 3)
            return std::nullopt;
        const json &c = (*val)["concat"];
        auto proto = proto_of(c[1]);
        if (!proto || !c[2].is_number_unsigned() || c[2].get<uint64_t>() > 65535)
            return std::nullopt;
        e.port = {*proto, c[2].get<uint16_t>()};
        addr = &c[0];
    }
    if (!addr->is_string()) return std::nullopt;
    auto a = policy::parse_address(addr->get<std::string>());
    if (!a) return std::nullopt;
    e.addr = *a;
    e.value = {UINT64_MAX, auth::kHandRange, UINT32_MAX};  // no timeout: lasts until deleted
    if (meta == nullptr) return e;
    if (meta->contains("expires") && (*meta)["expires"].is_number_unsigned())
        // Whole seconds, rounded down by nft: up, so a hook never runs before the kernel
        // drops the element.
        e.value.expires_ns = listed_at + ((*meta)["expires"].get<uint64_t>() + 1) * kNsPerSecond;
    if (meta->contains("comment") && (*meta)["comment"].is_string() &&
        !parse_grant_comment((*meta)["comment"].get<std::string>(), e.value.range_id,
                             e.value.secret_id))
        e.value.range_id = auth::kHandRange, e.value.secret_id = UINT32_MAX;
    return e;
}

}  // namespace

bool NftStore::Key::operator<(const Key &o) const {
    return std::tie(addr.bytes, port.proto, port.port) <
           std::tie(o.addr.bytes, o.port.proto, o.port.port);
}

// The writer's turn for a revoke, a sweep or a reload: no batch commits meanwhile.
class NftStore::WriterTurn {
  public:
    explicit WriterTurn(NftStore &s) : s_(s) {
        std::unique_lock lock(s_.queue_mu_);
        s_.queue_cv_.wait(lock, [this] { return !s_.writing_; });
        s_.writing_ = true;
    }
    ~WriterTurn() {
        {
            std::lock_guard lock(s_.queue_mu_);
            s_.writing_ = false;
        }
        s_.queue_cv_.notify_all();
    }
    WriterTurn(const WriterTurn &) = delete;
    WriterTurn &operator=(const WriterTurn &) = delete;

  private:
    NftStore &s_;
};

NftStore::NftStore(std::string ifname, uint32_t max_entries)
    : ifname_(std::move(ifname)), max_entries_(max_entries) {
    uint64_t listed_at = 0;
    std::vector<Entry> kernel;
    try {
        kernel = read_kernel(listed_at);
    } catch (const NftError &e) {
        throw std::runtime_error(ifname_ + ": no nftables gate to keep grants in (" + e.what() +
                                 ")");
    }
    std::lock_guard lock(mu_);
    for (auto &e : kernel) {
        e.port = key_port(e.port);
        adopt_one(e, listed_at);
    }
}

NftStore::NftStore(std::string ifname, std::vector<auth::RangeQuota> quotas, uint32_t max_entries)
    : NftStore(std::move(ifname), max_entries) {
    std::lock_guard lock(mu_);
    refused_range_full_.assign(quotas.size(), 0);
    refused_map_full_.assign(quotas.size(), 0);
    quotas_ = std::move(quotas);
    counts_ = std::make_unique<auth::SourceCounts>(max_entries_, quotas_.size());
    for (const auto &[key, v] : mirror_) count_in(key, v.range_id);
}

void NftStore::count_in(const Key &key, uint32_t range_id) {
    if (counts_) counts_->add(key.addr, range_id, 1);
}

void NftStore::count_out(const Key &key, uint32_t range_id) {
    if (counts_) counts_->remove(key.addr, range_id, 1);
}

// One listing per set: nft 1.0.6 fills its cache for the last of several list commands in
// one buffer only, and fails the others.
std::vector<Entry> NftStore::read_kernel(uint64_t &listed_at) const {
    std::vector<Entry> out;
    for (GrantSet g : kGrantSets) {
        const json list = nft_.list_json(list_set(ifname_, g));
        listed_at = monotonic_ns();
        const bool with_port = g == GrantSet::allow4 || g == GrantSet::allow6;
        for (const auto &item : list) {
            if (!item.contains("set") || !item["set"].contains("elem")) continue;
            for (const auto &elem : item["set"]["elem"]) {
                if (auto e = parse_element(elem, with_port, listed_at)) out.push_back(*e);
            }
        }
    }
    return out;
}

std::vector<Entry> NftStore::list() const {
    uint64_t listed_at = 0;
    try {
        return read_kernel(listed_at);
    } catch (const NftError &e) {
        XK_WARN("%s: cannot list the nftables grants: %s", ifname_.c_str(), e.what());
        return {};
    }
}

size_t NftStore::count(uint64_t now_ns) const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(mirror_.begin(), mirror_.end(), [&](const auto &kv) {
        return kv.second.expires_ns > now_ns;
    }));
}

auth::RangeUsage NftStore::usage(uint32_t range_id) const {
    auth::RangeUsage u;
    std::lock_guard lock(mu_);
    if (!counts_ || range_id >= quotas_.size()) return u;
    u.sources = counts_->range(range_id).sources;
    u.entries = counts_->range(range_id).entries;
    u.quota = quotas_[range_id];
    u.refused_range_full = refused_range_full_[range_id];
    u.refused_map_full = refused_map_full_[range_id];
    return u;
}

void NftStore::set_quotas(std::vector<auth::RangeQuota> quotas) {
    WriterTurn turn(*this);
    std::lock_guard lock(mu_);
    if (!counts_) return;  // hand edits keep no accounting
    refused_range_full_.assign(quotas.size(), 0);
    refused_map_full_.assign(quotas.size(), 0);
    quotas_ = std::move(quotas);
    counts_->reset(quotas_.size());
    for (const auto &[key, v] : mirror_) count_in(key, v.range_id);
}

int NftStore::grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                    uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) {
    if (ports.size() > auth::kMaxPortsPerGrant) return -E2BIG;
    // A zero timeout would make a permanent element: "until now" writes nothing.
    if (timeout_s == 0 || ports.empty()) return 0;
    Pending p;
    p.addr = addr;
    p.ports = ports;
    p.expires_ns = monotonic_ns() + uint64_t{timeout_s} * kNsPerSecond;
    p.timeout_ms = uint64_t{timeout_s} * 1000;
    p.range_id = range_id;
    p.secret_id = secret_id;
    enqueue_and_wait({&p, 1});
    return p.result;
}

std::vector<int> NftStore::grant_many(std::span<const GrantRequest> requests) {
    std::vector<Pending> pendings(requests.size());
    std::vector<int> results(requests.size(), 0);
    const uint64_t now = monotonic_ns();
    std::vector<Pending> queued;
    std::vector<size_t> where;
    for (size_t i = 0; i < requests.size(); ++i) {
        const GrantRequest &r = requests[i];
        if (r.ports.size() > auth::kMaxPortsPerGrant) results[i] = -E2BIG;
        if (r.ports.size() > auth::kMaxPortsPerGrant || r.timeout_s == 0 || r.ports.empty())
            continue;
        Pending p;
        p.addr = r.addr;
        p.ports = r.ports;
        p.expires_ns = now + uint64_t{r.timeout_s} * kNsPerSecond;
        p.timeout_ms = uint64_t{r.timeout_s} * 1000;
        p.range_id = r.range_id;
        p.secret_id = r.secret_id;
        queued.push_back(p);
        where.push_back(i);
    }
    enqueue_and_wait(queued);
    for (size_t i = 0; i < queued.size(); ++i) results[where[i]] = queued[i].result;
    return results;
}

// Leader/follower: whoever finds no writer takes everything queued (its own grants among
// them) and commits it; the others sleep until their grants are done or the writer's turn
// is free again.
void NftStore::enqueue_and_wait(std::span<Pending> pendings) {
    std::unique_lock lock(queue_mu_);
    for (auto &p : pendings) queue_.push_back(&p);
    auto all_done = [&] {
        return std::all_of(pendings.begin(), pendings.end(),
                           [](const Pending &p) { return p.done; });
    };
    while (!all_done()) {
        if (writing_) {
            queue_cv_.wait(lock);
            continue;
        }
        writing_ = true;
        std::vector<Pending *> batch(queue_.begin(), queue_.end());
        queue_.clear();
        lock.unlock();
        commit(batch);
        lock.lock();
        for (Pending *p : batch) p->done = true;  // results were written before, by us
        writing_ = false;
        queue_cv_.notify_all();
    }
}

// Plans the batch against the mirror in queue order, commits it as one buffer; if nft
// refuses it, the mirror is rolled back and each grant is tried on its own.
void NftStore::commit(const std::vector<Pending *> &batch) noexcept {
    try {
        std::vector<Planned> planned;
        std::string script;
        {
            std::lock_guard lock(mu_);
            for (Pending *p : batch) {
                Planned pl{p, {}, {}};
                p->result = plan(*p, pl);
                if (p->result != 0 || pl.script.empty()) continue;
                script += pl.script;
                planned.push_back(std::move(pl));
            }
        }
        if (planned.empty()) return;
        std::string message;
        batches_.fetch_add(1, std::memory_order_relaxed);
        int err = nft_.try_run(script, &message);
        if (err == 0) return;
        {
            std::lock_guard lock(mu_);
            for (auto it = planned.rbegin(); it != planned.rend(); ++it) undo(*it);
        }
        if (batch.size() == 1) {
            XK_WARN("%s: nftables grant refused: %s", ifname_.c_str(), message.c_str());
            planned[0].pending->result = err == -ENOSPC || err == -E2BIG ? kMapFull : err;
            return;
        }
        // Every grant again, not only the planned ones: one a failed grant covered (a
        // longer one for its key) or crowded out of its range's quota was judged against
        // a mirror that no longer holds.
        for (Pending *p : batch) p->result = commit_one(*p);
    } catch (const std::exception &e) {
        XK_ERROR("%s: nftables grant batch failed: %s", ifname_.c_str(), e.what());
        for (Pending *p : batch) p->result = -EIO;  // the mirror may now claim too much
    }
}

int NftStore::commit_one(Pending &p) {
    Planned pl{&p, {}, {}};
    {
        std::lock_guard lock(mu_);
        if (int err = plan(p, pl)) return err;
    }
    if (pl.script.empty()) return 0;
    std::string message;
    batches_.fetch_add(1, std::memory_order_relaxed);
    int err = nft_.try_run(pl.script, &message);
    if (err == 0) return 0;
    XK_WARN("%s: nftables grant refused: %s", ifname_.c_str(), message.c_str());
    std::lock_guard lock(mu_);
    undo(pl);
    return err == -ENOSPC || err == -E2BIG ? kMapFull : err;
}

// Under mu_. Which elements the grant writes (one lasting longer is left alone), the
// range's quota and the store's room, then the mirror as if committed (undo kept).
int NftStore::plan(Pending &p, Planned &out) {
    const xk_auth_value v{p.expires_ns, p.range_id, p.secret_id};
    std::vector<Undo> writes;
    uint32_t gained = 0, created = 0;
    for (const auto &port : p.ports) {
        Key k{p.addr, key_port(port)};
        if (std::any_of(writes.begin(), writes.end(),
                        [&](const Undo &w) { return !(w.key < k) && !(k < w.key); }))
            continue;
        auto it = mirror_.find(k);
        if (it != mirror_.end() && it->second.expires_ns >= v.expires_ns) continue;
        Undo w{k, it != mirror_.end(), it != mirror_.end() ? it->second : xk_auth_value{}};
        gained += !w.existed || w.old.range_id != v.range_id;
        created += !w.existed;
        writes.push_back(w);
    }
    if (writes.empty()) return 0;
    const bool tracked = counts_ && counts_->tracked(p.range_id);
    if (tracked && gained > 0) {
        const auth::RangeQuota &q = quotas_[p.range_id];
        const auto &now = counts_->range(p.range_id);
        const bool new_source = counts_->held(p.addr, p.range_id) == 0;
        if ((new_source && now.sources >= q.max_sources) ||
            uint64_t{now.entries} + gained > q.max_entries) {
            ++refused_range_full_[p.range_id];
            return kRangeFull;
        }
    }
    if (mirror_.size() + created > max_entries_) {
        if (tracked) ++refused_map_full_[p.range_id];
        return kMapFull;
    }
    std::vector<std::string> elements[std::size(kGrantSets)], refreshed[std::size(kGrantSets)];
    for (const Undo &w : writes) {
        // The kernel keeps an element's first comment (its range and secret) when an add
        // only refreshes it: an existing one is deleted and added again, in the same batch
        // (the add before the delete keeps the delete from failing on one just expired).
        if (w.existed)
            refreshed[static_cast<size_t>(set_for(w.key.addr, w.key.port))].push_back(
                element_key(w.key.addr, w.key.port));
        if (!w.existed || w.old.range_id != v.range_id) {
            if (w.existed) count_out(w.key, w.old.range_id);
            count_in(w.key, v.range_id);
        }
        mirror_[w.key] = v;
        elements[static_cast<size_t>(set_for(w.key.addr, w.key.port))].push_back(
            grant_element(w.key.addr, w.key.port, p.timeout_ms, p.range_id, p.secret_id));
    }
    for (GrantSet g : kGrantSets) {
        const auto &r = refreshed[static_cast<size_t>(g)];
        if (!r.empty()) {
            std::vector<std::string> placeholders;
            for (const auto &key : r) placeholders.push_back(key + " timeout 1s");
            out.script += add_elements(ifname_, g, placeholders) + delete_elements(ifname_, g, r);
        }
        const auto &e = elements[static_cast<size_t>(g)];
        if (!e.empty()) out.script += add_elements(ifname_, g, e);
    }
    out.undo = std::move(writes);
    return 0;
}

// Under mu_: the mirror and the accounting as they were before plan().
void NftStore::undo(const Planned &planned) {
    const uint32_t range = planned.pending->range_id;
    for (auto it = planned.undo.rbegin(); it != planned.undo.rend(); ++it) {
        if (!it->existed || it->old.range_id != range) {
            count_out(it->key, range);
            if (it->existed) count_in(it->key, it->old.range_id);
        }
        if (it->existed)
            mirror_[it->key] = it->old;
        else
            mirror_.erase(it->key);
    }
}

size_t NftStore::revoke(const policy::Address &addr) {
    WriterTurn turn(*this);
    uint64_t listed_at = 0;
    std::vector<Entry> kernel;
    try {
        kernel = read_kernel(listed_at);
    } catch (const NftError &e) {
        XK_WARN("%s: cannot revoke %s: %s", ifname_.c_str(), policy::format_address(addr).c_str(),
                e.what());
        return 0;
    }
    std::vector<std::string> keys[std::size(kGrantSets)];
    size_t total = 0;
    for (const auto &e : kernel) {
        if (e.addr != addr) continue;
        keys[static_cast<size_t>(set_for(e.addr, e.port))].push_back(element_key(e.addr, e.port));
        ++total;
    }
    size_t removed = 0;
    std::string script;
    for (GrantSet g : kGrantSets) {
        if (!keys[static_cast<size_t>(g)].empty())
            script += delete_elements(ifname_, g, keys[static_cast<size_t>(g)]);
    }
    if (total > 0 && nft_.try_run(script) == 0) {
        removed = total;
    } else if (total > 0) {
        // One element expired meanwhile (ENOENT fails the whole batch): one by one.
        for (GrantSet g : kGrantSets) {
            for (const auto &k : keys[static_cast<size_t>(g)])
                removed += nft_.try_run(delete_elements(ifname_, g, {k})) == 0;
        }
    }
    std::lock_guard lock(mu_);
    auto it = mirror_.lower_bound(Key{addr, {}});
    while (it != mirror_.end() && it->first.addr == addr) {
        count_out(it->first, it->second.range_id);
        it = mirror_.erase(it);
    }
    return removed;
}

// The mirror's expired entries every time; the kernel listing (about 10 ms per 1,000
// elements, nearly all of it in libnftables) at most 1 / (kListingPause + 1) of the time.
std::vector<Entry> NftStore::sweep(uint64_t now_ns) {
    WriterTurn turn(*this);
    std::vector<Entry> gone;
    uint64_t listed_at = 0;
    std::vector<Entry> kernel;
    bool listed = false;
    const uint64_t start = monotonic_ns();
    if (start >= reconcile_after_ns_) {
        try {
            kernel = read_kernel(listed_at);
            listed = true;
        } catch (const NftError &e) {
            XK_WARN("%s: cannot list the nftables grants: %s", ifname_.c_str(), e.what());
        }
        reconcile_after_ns_ = monotonic_ns() + (monotonic_ns() - start) * kListingPause;
    }
    std::lock_guard lock(mu_);
    // The listing first: an element another process extended (`xdpknock allow`) is live,
    // not expired, and its hook must not run.
    if (listed) reconcile(kernel, std::max(listed_at, now_ns), gone);
    for (auto it = mirror_.begin(); it != mirror_.end();) {
        if (it->second.expires_ns > now_ns) {
            ++it;
            continue;
        }
        gone.push_back({it->first.addr, it->first.port, it->second});
        count_out(it->first, it->second.range_id);
        it = mirror_.erase(it);
    }
    return gone;
}

// Under mu_, with the writer's turn: the mirror made to agree with a kernel listing.
// Mirror entries the kernel lacks were deleted by another process (`xdpknock revoke`):
// gone. Kernel elements the mirror lacks, or whose range or expiry differ, were written
// by another process (`xdpknock allow`): adopted.
void NftStore::reconcile(std::vector<Entry> &kernel, uint64_t live_after,
                         std::vector<Entry> &gone) {
    for (auto &e : kernel) e.port = key_port(e.port);
    std::sort(kernel.begin(), kernel.end(), [](const Entry &a, const Entry &b) {
        return Key{a.addr, a.port} < Key{b.addr, b.port};
    });
    auto k = kernel.begin();
    for (auto it = mirror_.begin(); it != mirror_.end();) {
        while (k != kernel.end() && Key{k->addr, k->port} < it->first) adopt_one(*k++, live_after);
        if (k == kernel.end() || it->first < Key{k->addr, k->port}) {
            gone.push_back({it->first.addr, it->first.port, it->second});
            count_out(it->first, it->second.range_id);
            it = mirror_.erase(it);
            continue;
        }
        const xk_auth_value &kv = k->value;
        xk_auth_value &mv = it->second;
        const uint64_t diff = kv.expires_ns > mv.expires_ns ? kv.expires_ns - mv.expires_ns
                                                            : mv.expires_ns - kv.expires_ns;
        if (kv.range_id != mv.range_id) {
            count_out(it->first, mv.range_id);
            count_in(it->first, kv.range_id);
        }
        if (kv.range_id != mv.range_id || diff > kListingSlackNs) mv = kv;
        ++it;
        ++k;
    }
    while (k != kernel.end()) adopt_one(*k++, live_after);
}

// An element into the mirror unless it ends by live_after (the kernel lists whole
// seconds: one with under a second left is left to the kernel's expiry).
void NftStore::adopt_one(const Entry &e, uint64_t live_after) {
    if (e.value.expires_ns <= live_after) return;
    if (mirror_.size() >= max_entries_) return;
    auto [it, fresh] = mirror_.try_emplace(Key{e.addr, e.port}, e.value);
    if (fresh) count_in(it->first, e.value.range_id);
}

uint64_t NftStore::batches() const {
    return batches_.load(std::memory_order_relaxed);
}

}  // namespace xk::nft
