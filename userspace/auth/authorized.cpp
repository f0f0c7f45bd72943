#include "auth/authorized.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>

namespace xk::auth {
namespace {

size_t map_max_entries(int fd) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.max_entries == 0) {
        return XK_AUTH_MAX_ENTRIES;
    }
    return info.max_entries;
}

bool same_key(const xk_auth_key &a, const xk_auth_key &b) {
    return std::memcmp(&a, &b, sizeof(a)) == 0;
}

// Every entry, a batch of them per syscall (two syscalls per entry made a sweep of a
// million grants take seconds). Where a batch fails (an old kernel) the map is walked entry
// by entry from the start: an entry may then come twice, but none is missed (the filter's
// rebuild depends on that).
void each_entry(int fd, const std::function<void(const xk_auth_key &, const xk_auth_value &)> &fn) {
    constexpr __u32 kBatch = 4096;
    std::vector<xk_auth_key> keys(kBatch);
    std::vector<xk_auth_value> values(kBatch);
    __u32 token = 0;
    for (bool first = true;; first = false) {
        __u32 n = kBatch;
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        int rc = bpf_map_lookup_batch(fd, first ? nullptr : &token, &token, keys.data(),
                                      values.data(), &n, &opts);
        if (rc != 0 && errno != ENOENT) break;
        for (__u32 i = 0; i < n; ++i) fn(keys[i], values[i]);
        if (rc != 0) return;  // ENOENT: that was the last batch
    }
    xk_auth_key key{}, next{};
    const void *prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        xk_auth_value v{};
        if (bpf_map_lookup_elem(fd, &next, &v) == 0) fn(next, v);
        key = next;
        prev = &key;
    }
}

// The kernel says E2BIG when a hash map is full; callers get one code for it.
int map_error(int err) {
    return err == E2BIG || err == ENOSPC ? Authorized::kMapFull : -err;
}

}  // namespace

xk_auth_key make_key(const policy::Address &addr, const policy::PortRef &port) {
    xk_auth_key k{};
    std::memcpy(k.addr, addr.bytes.data(), sizeof(k.addr));
    k.proto = port.proto;
    k.port = port.proto == 0 ? 0 : port.port;
    return k;
}

std::vector<RangeQuota> quotas_for(const policy::Config &config) {
    std::vector<RangeQuota> out;
    for (const auto &r : config.ranges) {
        uint64_t entries = uint64_t{r.max_sources} * policy::entries_per_source(r, config);
        out.push_back(
            {r.max_sources, static_cast<uint32_t>(std::min<uint64_t>(entries, UINT32_MAX))});
    }
    return out;
}

Authorized::Authorized(int map_fd) : fd_(map_fd) {}

Authorized::Authorized(int map_fd, std::vector<RangeQuota> quotas)
    : fd_(map_fd),
      quotas_(std::move(quotas)),
      counts_(std::make_unique<SourceCounts>(map_max_entries(map_fd), quotas_.size())),
      refused_range_full_(quotas_.size()),
      refused_map_full_(quotas_.size()) {
    rebuild(list());
}

std::mutex &Authorized::stripe(const policy::Address &addr) {
    return stripes_[(addr.bytes[15] ^ addr.bytes[14] ^ addr.bytes[7]) % stripes_.size()];
}

RangeUsage Authorized::usage(uint32_t range_id) const {
    RangeUsage u;
    if (!counts_) return u;
    std::lock_guard lock(counts_mu_);  // set_quotas may resize quotas_
    if (range_id >= quotas_.size()) return u;
    u.sources = counts_->range(range_id).sources;
    u.entries = counts_->range(range_id).entries;
    u.quota = quotas_[range_id];
    u.refused_range_full = refused_range_full_[range_id].load(std::memory_order_relaxed);
    u.refused_map_full = refused_map_full_[range_id].load(std::memory_order_relaxed);
    return u;
}

void Authorized::set_quotas(std::vector<RangeQuota> quotas) {
    if (!counts_) return;  // hand edits keep no accounting
    std::array<std::unique_lock<std::mutex>, 64> all;
    for (size_t i = 0; i < stripes_.size(); ++i) all[i] = std::unique_lock(stripes_[i]);
    const std::vector<Entry> entries = list();
    std::lock_guard lock(counts_mu_);
    refused_range_full_ = std::vector<std::atomic<uint64_t>>(quotas.size());
    refused_map_full_ = std::vector<std::atomic<uint64_t>>(quotas.size());
    quotas_ = std::move(quotas);
    counts_->reset(quotas_.size());
    rebuild(entries);
}

// Which keys the grant writes (an entry lasting longer is left alone) and whose they were.
int Authorized::plan(const policy::Address &addr, std::span<const policy::PortRef> ports,
                     const xk_auth_value &v, Plan &p) const {
    if (ports.size() > p.writes.size()) return -E2BIG;
    for (const auto &port : ports) {
        Write w{make_key(addr, port), UINT32_MAX, false};
        bool repeated = std::any_of(p.writes.begin(), p.writes.begin() + p.n,
                                    [&](const Write &o) { return same_key(o.key, w.key); });
        if (repeated) continue;
        xk_auth_value old{};
        if (bpf_map_lookup_elem(fd_, &w.key, &old) == 0) {
            if (old.expires_ns >= v.expires_ns) continue;
            w.existed = true;
            w.old_range = old.range_id;
        }
        if (!w.existed || w.old_range != v.range_id) ++p.gained;
        p.writes[p.n++] = w;
    }
    return 0;
}

// Checks the range's quota and books the plan's entries before they are written, so two
// workers granting at once cannot both take the last place.
int Authorized::reserve(const policy::Address &addr, uint32_t range_id, const Plan &p) {
    if (!counts_) return 0;
    std::lock_guard lock(counts_mu_);
    if (counts_->tracked(range_id) && p.gained > 0) {
        const RangeQuota &q = quotas_[range_id];
        const auto &now = counts_->range(range_id);
        bool new_source = counts_->held(addr, range_id) == 0;
        if ((new_source && now.sources >= q.max_sources) ||
            uint64_t{now.entries} + p.gained > q.max_entries) {
            refused_range_full_[range_id].fetch_add(1, std::memory_order_relaxed);
            return kRangeFull;
        }
        if (!counts_->add(addr, range_id, p.gained)) {
            refused_map_full_[range_id].fetch_add(1, std::memory_order_relaxed);
            return kMapFull;
        }
    }
    for (size_t i = 0; i < p.n; ++i) {
        const Write &w = p.writes[i];
        if (w.existed && w.old_range != range_id) counts_->remove(addr, w.old_range, 1);
    }
    return 0;
}

// Undoes the booking of writes [from, to): they did not happen (or were rolled back).
void Authorized::release(const policy::Address &addr, uint32_t range_id, const Write *from,
                         const Write *to) {
    if (!counts_) return;
    std::lock_guard lock(counts_mu_);
    for (const Write *w = from; w != to; ++w) {
        if (w->existed && w->old_range == range_id) continue;
        counts_->remove(addr, range_id, 1);
        if (w->existed) counts_->add(addr, w->old_range, 1);
    }
}

// Writes the plan; on a failure, what this grant created is deleted again (fail closed:
// a refused grant leaves no partial authorization), and the booking follows.
int Authorized::write(const policy::Address &addr, const xk_auth_value &v, const Plan &p) {
    const Write *begin = p.writes.data(), *end = begin + p.n;
    for (const Write *w = begin; w != end; ++w) {
        if (bpf_map_update_elem(fd_, &w->key, &v, BPF_ANY) == 0) continue;
        int err = map_error(errno);
        release(addr, v.range_id, w, end);
        for (const Write *done = begin; done != w; ++done) {
            if (done->existed || bpf_map_delete_elem(fd_, &done->key) != 0) continue;
            release(addr, v.range_id, done, done + 1);
        }
        if (err == kMapFull && counts_ && counts_->tracked(v.range_id)) {
            refused_map_full_[v.range_id].fetch_add(1, std::memory_order_relaxed);
        }
        return err;
    }
    return 0;
}

void Authorized::mark(const Plan &p) {
    if (!filter_) return;
    for (size_t i = 0; i < p.n; ++i) filter_->add(p.writes[i].key);
}

int Authorized::grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                      uint32_t timeout_s, uint32_t range_id, uint32_t secret_id) {
    std::lock_guard lock(stripe(addr));
    xk_auth_value v{};
    v.expires_ns = monotonic_ns() + uint64_t{timeout_s} * 1000000000ull;
    v.range_id = range_id;
    v.secret_id = secret_id;
    Plan p;
    if (int err = plan(addr, ports, v, p)) return err;
    if (p.n == 0) return 0;  // every entry already lasts longer
    if (int err = reserve(addr, range_id, p)) return err;
    // Bits before the keys (the gate never sees a key its filter denies), and again after
    // them, for a rebuild that cleared them in between (auth_filter.hpp).
    mark(p);
    int err = write(addr, v, p);
    mark(p);
    // After the write and its booking: a sweep that saw this number also saw the write.
    mutations_.fetch_add(1, std::memory_order_release);
    return err;
}

std::vector<Entry> Authorized::list() const {
    std::vector<Entry> out;
    each_entry(fd_, [&](const xk_auth_key &k, const xk_auth_value &v) {
        Entry e;
        e.addr = policy::Address::from_bytes(k.addr);
        e.port = {k.proto, k.port};
        e.value = v;
        out.push_back(e);
    });
    return out;
}

std::vector<xk_auth_key> Authorized::keys() const {
    std::vector<xk_auth_key> out;
    each_entry(fd_, [&](const xk_auth_key &k, const xk_auth_value &) { out.push_back(k); });
    return out;
}

void Authorized::use_filter(std::unique_ptr<AuthFilter> filter, bool owner) {
    filter_ = std::move(filter);
    filter_owner_ = owner && filter_;
    if (filter_owner_ && filter_->needs_build()) filter_->build([this] { return keys(); });
}

// Owner: bits for live keys written without the filter (a store that has none), and a
// rebuild once deleted keys left enough stale bits behind (they only cost lookups).
void Authorized::keep_filter(const std::vector<Entry> &live, size_t deleted) {
    if (!filter_owner_) return;
    const uint64_t stale = filter_stale_.fetch_add(deleted) + deleted;
    for (const auto &e : live) {
        xk_auth_key k = make_key(e.addr, e.port);
        if (!filter_->may_hold(k)) filter_->add(k);
    }
    if (stale * 4 >= live.size() + 16) rebuild_filter();
}

bool Authorized::rebuild_filter() {
    if (!filter_owner_) return false;
    const uint64_t stale = filter_stale_.load();
    if (!filter_->rebuild([this] { return keys(); })) return false;
    filter_stale_.fetch_sub(stale);
    return true;
}

size_t Authorized::revoke(const policy::Address &addr) {
    size_t n = 0;
    for (const auto &e : list()) {
        if (e.addr != addr) continue;
        std::lock_guard lock(stripe(e.addr));
        xk_auth_key k = make_key(e.addr, e.port);
        xk_auth_value cur{};
        if (bpf_map_lookup_elem(fd_, &k, &cur) != 0 || bpf_map_delete_elem(fd_, &k) != 0) continue;
        ++n;
        filter_stale_.fetch_add(1, std::memory_order_relaxed);
        if (counts_) {
            std::lock_guard counts_lock(counts_mu_);
            counts_->remove(e.addr, cur.range_id, 1);
        }
        mutations_.fetch_add(1, std::memory_order_release);
    }
    return n;
}

std::vector<Entry> Authorized::sweep(uint64_t now_ns) {
    const uint64_t mutations_before = mutations_.load(std::memory_order_acquire);
    std::vector<Entry> all = list(), expired, live;
    for (const auto &e : all) {
        if (e.value.expires_ns > now_ns) {
            live.push_back(e);
            continue;
        }
        std::lock_guard lock(stripe(e.addr));  // a grant in between must not be deleted
        xk_auth_key k = make_key(e.addr, e.port);
        // Re-check: a worker may have refreshed it since list() read it.
        xk_auth_value cur{};
        if (bpf_map_lookup_elem(fd_, &k, &cur) == 0 && cur.expires_ns > now_ns) continue;
        if (bpf_map_delete_elem(fd_, &k) != 0) continue;
        expired.push_back(e);
        if (counts_) {
            std::lock_guard counts_lock(counts_mu_);
            counts_->remove(e.addr, cur.range_id, 1);
        }
    }
    keep_filter(live, expired.size());
    reconcile(live, mutations_before);
    return expired;
}

void Authorized::rebuild(const std::vector<Entry> &entries) {
    counts_->clear();
    for (const auto &e : entries) counts_->add(e.addr, e.value.range_id, 1);
}

// The accounting only drifts when another process edits the map (`xdpknock revoke` or an
// `allow` over a range's entry): it then counts too much, never too little. If the live
// entries' per-range totals disagree, recount them — but only if no grant or revoke wrote
// since the listing began, or the listing would not be the truth; else the next sweep.
void Authorized::reconcile(std::vector<Entry> &live, uint64_t mutations_before) {
    if (!counts_) return;
    std::vector<uint64_t> entries(quotas_.size());
    for (const auto &e : live) {
        if (e.value.range_id < entries.size()) ++entries[e.value.range_id];
    }
    {
        std::lock_guard lock(counts_mu_);
        bool same = true;
        for (size_t r = 0; r < entries.size(); ++r) same &= entries[r] == counts_->range(r).entries;
        if (same) return;
    }
    // A key deleted while the map was walked restarts the walk: drop the repeats.
    auto key_less = [](const Entry &a, const Entry &b) {
        xk_auth_key x = make_key(a.addr, a.port), y = make_key(b.addr, b.port);
        return std::memcmp(&x, &y, sizeof(x)) < 0;
    };
    std::sort(live.begin(), live.end(), key_less);
    live.erase(std::unique(live.begin(), live.end(),
                           [&](const Entry &a, const Entry &b) {
                               return !key_less(a, b) && !key_less(b, a);
                           }),
               live.end());
    std::array<std::unique_lock<std::mutex>, 64> all;
    for (size_t i = 0; i < stripes_.size(); ++i) all[i] = std::unique_lock(stripes_[i]);
    if (mutations_.load(std::memory_order_acquire) != mutations_before) return;
    std::lock_guard lock(counts_mu_);
    rebuild(live);
}

}  // namespace xk::auth
