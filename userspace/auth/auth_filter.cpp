#include "auth/auth_filter.hpp"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

namespace xk::auth {
namespace {

template <typename T>
std::atomic_ref<T> at(T &v) {
    return std::atomic_ref<T>(v);
}

uint64_t source_hash(const xk_auth_key &key, uint64_t seed) {
    __u32 w[4];
    std::memcpy(w, key.addr, sizeof(w));  // the gate reads the address as native words
    return xk_filter_source(w, seed);
}

AuthFilter::KeyHash key_hash(const xk_auth_key &key, uint64_t seed) {
    uint64_t source = source_hash(key, seed);
    return {source, xk_filter_hash(source, key.proto, key.port)};
}

uint64_t fresh_seed() {
    uint64_t seed = 0;
    while (seed == 0) {
        if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
    }
    return seed;
}

// The largest power of two of lines each half can have in an array of `count` lines.
uint32_t half_lines_of(uint32_t count) {
    uint32_t half = 1;
    while (1 + 4ull * half <= count) half <<= 1;
    return half;
}

}  // namespace

std::unique_ptr<AuthFilter> AuthFilter::open(int fd, std::chrono::microseconds grace) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
        throw std::system_error(errno, std::generic_category(), "auth_filter: map info");
    }
    if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(xk_filter_line) ||
        !(info.map_flags & BPF_F_MMAPABLE) || info.max_entries < 3) {
        throw std::system_error(EINVAL, std::generic_category(), "auth_filter: not the layout");
    }
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes =
        (size_t{info.max_entries} * sizeof(xk_filter_line) + page - 1) & ~(page - 1);
    void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        throw std::system_error(errno, std::generic_category(), "auth_filter: mmap");
    }
    return std::unique_ptr<AuthFilter>(
        new AuthFilter(static_cast<xk_filter_line *>(p), bytes, info.max_entries, grace));
}

AuthFilter::AuthFilter(union xk_filter_line *lines, size_t bytes, uint32_t count,
                       std::chrono::microseconds grace)
    : lines_(lines),
      bytes_(bytes),
      count_(count),
      half_lines_(half_lines_of(count)),
      grace_(grace) {}

AuthFilter::~AuthFilter() {
    munmap(lines_, bytes_);
}

// The word holding `bit` of the key's line in `half`; nullptr if the head points past this
// array (it was copied from a bigger one: needs_build()).
__u64 *AuthFilter::word(uint32_t half, const KeyHash &h, uint32_t bit) const {
    xk_filter_head &head = lines_[0].head;
    uint32_t line =
        at(head.base[half]).load() + (static_cast<uint32_t>(h.source) & at(head.mask[half]).load());
    if (line == 0 || line >= count_) return nullptr;
    return &lines_[line].w[bit >> 6];
}

void AuthFilter::set_bits(uint32_t half, const KeyHash &h) const {
    for (uint32_t bit : {XK_FILTER_BIT1(h.key), XK_FILTER_BIT2(h.key)}) {
        if (__u64 *w = word(half, h, bit)) at(*w).fetch_or(__u64{1} << (bit & 63));
    }
}

void AuthFilter::add(const xk_auth_key &key) {
    uint64_t seed = at(lines_[0].head.seed[0]).load();
    if (seed == 0) return;  // never built: the owner's first listing will hold the key
    const KeyHash h = key_hash(key, seed);
    set_bits(0, h);
    set_bits(1, h);
}

bool AuthFilter::ready() const {
    return at(lines_[0].head.state).load() != 0;
}

// As the gate answers, read again if the owner flipped meanwhile (the half read may have
// been cleared under a reader that slept between `state` and the words).
bool AuthFilter::may_hold(const xk_auth_key &key) const {
    xk_filter_head &head = lines_[0].head;
    for (;;) {
        const uint32_t flips = at(head.flips).load();
        const uint32_t state = at(head.state).load();
        if (state == 0) return true;
        const uint32_t half = (state - 1) & 1;
        const KeyHash h = key_hash(key, at(head.seed[half]).load());
        bool held = true;
        for (uint32_t bit : {XK_FILTER_BIT1(h.key), XK_FILTER_BIT2(h.key)}) {
            __u64 *w = word(half, h, bit);
            if (w && !(at(*w).load() & (__u64{1} << (bit & 63)))) held = false;
        }
        if (at(head.flips).load() == flips) return held;
    }
}

bool AuthFilter::needs_build() const {
    const xk_filter_head &h = lines_[0].head;
    return !ready() || h.base[0] != 1 || h.mask[0] != half_lines_ - 1 ||
           h.base[1] != 1 + half_lines_ || h.mask[1] != half_lines_ - 1;
}

void AuthFilter::clear_half(uint32_t half) const {
    const uint32_t base = lines_[0].head.base[half];
    for (uint32_t i = 0; i < half_lines_; ++i) {
        for (__u64 &w : lines_[base + i].w) at(w).exchange(0);
    }
}

void AuthFilter::fill(const std::vector<xk_auth_key> &keys, uint32_t half, uint64_t seed) const {
    for (const auto &k : keys) set_bits(half, key_hash(k, seed));
}

void AuthFilter::build(const Lister &list) {
    std::lock_guard lock(owner_mu_);
    xk_filter_head &h = lines_[0].head;
    if (at(h.state).exchange(0) != 0) {
        at(h.flips).fetch_add(1);
        // The gate looks every key up from now on; a run that read the old state first
        // is long over after the grace.
        std::this_thread::sleep_for(grace_);
    }
    uint64_t seed = at(h.seed[0]).load();
    if (seed == 0) seed = fresh_seed();
    for (uint32_t half : {0u, 1u}) {
        at(h.seed[half]).store(seed);
        at(h.base[half]).store(1 + half * half_lines_);
        at(h.mask[half]).store(half_lines_ - 1);
    }
    clear_half(0);
    clear_half(1);
    const std::vector<xk_auth_key> keys = list();
    fill(keys, 0, seed);
    fill(keys, 1, seed);
    at(h.state).store(1);
    at(h.flips).fetch_add(1);
    last_flip_ = std::chrono::steady_clock::now();
}

bool AuthFilter::rebuild(const Lister &list) {
    std::lock_guard lock(owner_mu_);
    auto now = std::chrono::steady_clock::now();
    xk_filter_head &h = lines_[0].head;
    const uint32_t state = at(h.state).load();
    if (state == 0 || now - last_flip_ < grace_) return false;
    const uint32_t next = ((state - 1) & 1) ^ 1;
    clear_half(next);
    fill(list(), next, at(h.seed[next]).load());
    at(h.state).store(1 + next);
    at(h.flips).fetch_add(1);
    last_flip_ = now;
    return true;
}

}  // namespace xk::auth
