#pragma once
// The gate's pre-filter (maps.h: auth_filter): a Bloom filter over the keys of the
// authorized map, which the XDP program reads before any hash lookup, so a flood of
// strangers' SYNs costs two array reads (the head, the source's line). It may say "maybe" for a key
// the map lacks (the lookup then decides) but never "no" for a key the map holds:
//  - a writer sets a key's bits in both halves before it writes the key, and again after;
//  - the owner (the daemon's store) rebuilds the half the gate does not read: clears it,
//    then lists the map, sets the listed keys' bits, and flips the gate over to it. A key
//    written meanwhile either had its second setting after the clear (its bits stay), or
//    before it: then the key was in the map before the listing began, and is listed.
// The clear swaps each word (a read-modify-write), so it sees every setting before it.
// A flip waits a grace (kMinFlipInterval) after the last one: the half it clears is then
// one no XDP run still reads. Until the owner first built it the gate does not use it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "xdpknock/maps.h"

static_assert(sizeof(xk_filter_head) == 64 && sizeof(xk_filter_line) == 64,
              "auth_filter lines are shared with BPF");

namespace xk::auth {

class AuthFilter {
  public:
    struct KeyHash {
        uint64_t source, key;  // the line comes from the first, the bits from the second
    };

    static constexpr std::chrono::microseconds kMinFlipInterval{1000000};
    using Lister = std::function<std::vector<xk_auth_key>()>;

    // Maps the gate's auth_filter array (fd not taken over). Throws std::system_error.
    // Tests shorten the grace between flips.
    static std::unique_ptr<AuthFilter> open(int fd,
                                            std::chrono::microseconds grace = kMinFlipInterval);
    ~AuthFilter();
    AuthFilter(const AuthFilter &) = delete;
    AuthFilter &operator=(const AuthFilter &) = delete;

    // Writers: before and after writing the key to the map. Nothing before the first build.
    void add(const xk_auth_key &key);
    // What the gate answers for the key now: false only if the map certainly lacks it.
    bool may_hold(const xk_auth_key &key) const;
    bool ready() const;
    // The head names halves this array's size does not give (it was copied from a map of
    // another size, or never built): the owner must build().
    bool needs_build() const;

    // Owner only, one thread at a time. build(): both halves from scratch, the gate not
    // using the filter meanwhile (the first time, or after a resize). rebuild(): drops the
    // bits of keys gone from the map; false (nothing done) within the grace of the last
    // flip. `list` is called after the clear and must return every key in the map.
    void build(const Lister &list);
    bool rebuild(const Lister &list);

    uint32_t lines_per_half() const { return half_lines_; }

  private:
    AuthFilter(union xk_filter_line *lines, size_t bytes, uint32_t count,
               std::chrono::microseconds grace);
    __u64 *word(uint32_t half, const KeyHash &h, uint32_t bit) const;
    void set_bits(uint32_t half, const KeyHash &h) const;
    void clear_half(uint32_t half) const;
    void fill(const std::vector<xk_auth_key> &keys, uint32_t half, uint64_t seed) const;

    union xk_filter_line *lines_;
    size_t bytes_;
    uint32_t count_;       // lines in the array, the head included
    uint32_t half_lines_;  // lines per half this array holds (a power of two)
    std::chrono::microseconds grace_;
    std::mutex owner_mu_;
    std::chrono::steady_clock::time_point last_flip_{};
};

}  // namespace xk::auth
