#pragma once
// How many authorized-map entries each (source, range) pair holds, and from that how many
// distinct sources and entries each range holds: the range quotas are checked against it.
// A fixed open-addressing table (linear probing, backward-shift deletion, so no tombstones
// pile up) sized once for the map: a grant never allocates. Not thread-safe: the owner
// locks. Range ids at or past `ranges` (hand-made entries: UINT32_MAX) count to no range.
// The table (2 x the map's max_entries x 24 B: 3 MiB for 65,536) is an anonymous mapping
// the kernel zero-fills page by page on first touch: it costs memory as sources land, not
// at start. clear() hands the pages back (they read as zero again).

#include <sys/mman.h>
#include <sys/random.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <vector>

#include "policy/address.hpp"

namespace xk::auth {

class SourceCounts {
  public:
    struct PerRange {
        uint32_t sources = 0;
        uint32_t entries = 0;
    };

    // max_pairs: the map's max_entries (each pair holds at least one entry).
    SourceCounts(size_t max_pairs, size_t ranges)
        : slots_(std::bit_ceil(std::max<size_t>(2 * max_pairs, 16))),
          mask_(slots_.size() - 1),
          per_range_(ranges) {
        // Keyed, so spoofed sources cannot be chosen to pile onto one probe chain.
        if (getrandom(&seed_, sizeof(seed_), 0) != sizeof(seed_)) {
            seed_ ^= reinterpret_cast<uintptr_t>(this);
        }
    }

    bool tracked(uint32_t range) const { return range < per_range_.size(); }
    const PerRange &range(uint32_t r) const { return per_range_[r]; }
    size_t ranges() const { return per_range_.size(); }

    uint32_t held(const policy::Address &a, uint32_t range) const {
        if (!tracked(range)) return 0;
        return slots_[find(a, range)].count;
    }

    // False (and nothing changed) when the table has no room: only if the map was edited
    // behind our back faster than sweeps reconcile.
    bool add(const policy::Address &a, uint32_t range, uint32_t n) {
        if (!tracked(range) || n == 0) return true;
        Slot &s = slots_[find(a, range)];
        if (s.count == 0) {
            if (used_ + 1 > slots_.size() * 3 / 4) return false;
            ++used_;
            std::memcpy(s.addr, a.bytes.data(), sizeof(s.addr));
            s.range = range;
            ++per_range_[range].sources;
        }
        s.count += n;
        per_range_[range].entries += n;
        return true;
    }

    void remove(const policy::Address &a, uint32_t range, uint32_t n) {
        if (!tracked(range) || n == 0) return;
        size_t i = find(a, range);
        Slot &s = slots_[i];
        if (s.count == 0) return;
        n = std::min(n, s.count);
        s.count -= n;
        per_range_[range].entries -= n;
        if (s.count > 0) return;
        --per_range_[range].sources;
        --used_;
        erase(i);
    }

    void clear() {
        if (used_ > 0) slots_.zero();
        std::fill(per_range_.begin(), per_range_.end(), PerRange{});
        used_ = 0;
    }

    // Empty, for another number of ranges (a reload). The table keeps its size.
    void reset(size_t ranges) {
        clear();
        per_range_.assign(ranges, PerRange{});
    }

  private:
    struct Slot {
        uint8_t addr[16];
        uint32_t range;
        uint32_t count;  // 0: empty
    };

    size_t home(const uint8_t *addr, uint32_t range) const {
        uint64_t a, b;
        std::memcpy(&a, addr, 8);
        std::memcpy(&b, addr + 8, 8);
        uint64_t h = seed_ ^ (a * 0x9e3779b97f4a7c15ull);
        h = (h ^ (h >> 31) ^ b) * 0xbf58476d1ce4e5b9ull;
        h = (h ^ (h >> 29) ^ range) * 0x94d049bb133111ebull;
        return (h ^ (h >> 32)) & mask_;
    }

    // The pair's slot, or the empty slot where it would go.
    size_t find(const policy::Address &a, uint32_t range) const {
        for (size_t i = home(a.bytes.data(), range);; i = (i + 1) & mask_) {
            const Slot &s = slots_[i];
            if (s.count == 0) return i;
            if (s.range == range && std::memcmp(s.addr, a.bytes.data(), sizeof(s.addr)) == 0)
                return i;
        }
    }

    // Backward-shift deletion: pulls later members of the probe chain into the hole.
    void erase(size_t hole) {
        for (size_t j = (hole + 1) & mask_; slots_[j].count != 0; j = (j + 1) & mask_) {
            size_t k = home(slots_[j].addr, slots_[j].range);
            bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
            if (stays) continue;
            slots_[hole] = slots_[j];
            hole = j;
        }
        slots_[hole] = Slot{};
    }

    // Slots on zero-fill-on-demand pages; an all-zero Slot is an empty one.
    class Table {
      public:
        explicit Table(size_t n) : n_(n) {
            void *p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p == MAP_FAILED)
                throw std::system_error(errno, std::generic_category(),
                                        "authorized_max: cannot map the source table");
            slots_ = static_cast<Slot *>(p);
        }
        ~Table() { munmap(slots_, bytes()); }
        Table(const Table &) = delete;
        Table &operator=(const Table &) = delete;
        size_t size() const { return n_; }
        Slot &operator[](size_t i) { return slots_[i]; }
        const Slot &operator[](size_t i) const { return slots_[i]; }
        // Drops every page: a private anonymous page reads as zeros after MADV_DONTNEED
        // (MADV_FREE would not promise that). Falls back to writing zeros.
        void zero() {
            if (madvise(slots_, bytes(), MADV_DONTNEED) != 0) std::fill_n(slots_, n_, Slot{});
        }

      private:
        size_t bytes() const { return n_ * sizeof(Slot); }
        size_t n_;
        Slot *slots_;
    };

    Table slots_;
    size_t mask_;
    size_t used_ = 0;
    uint64_t seed_ = 0x2545f4914f6cdd1dull;
    std::vector<PerRange> per_range_;
};

}  // namespace xk::auth
