#pragma once
// Writes and reads the gate's `authorized` map: who may open which port until when.

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "policy/address.hpp"
#include "policy/config.hpp"
#include "xdpknock/maps.h"

static_assert(sizeof(xk_auth_key) == 20, "xk_auth_key layout is shared with BPF");
static_assert(sizeof(xk_auth_value) == 16, "xk_auth_value layout is shared with BPF");

namespace xk::auth {

// CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads.
uint64_t monotonic_ns();

xk_auth_key make_key(const policy::Address &addr, const policy::PortRef &port);

struct Entry {
    policy::Address addr;
    policy::PortRef port;
    xk_auth_value value{};
};

class Authorized {
  public:
    explicit Authorized(int map_fd) : fd_(map_fd) {}
    Authorized(const Authorized &) = delete;
    Authorized &operator=(const Authorized &) = delete;

    // Authorizes addr for each port until now + timeout. A refresh only ever extends:
    // an entry that already lasts longer keeps its expiry. Returns 0 or -errno.
    int grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
              uint32_t timeout_s, uint32_t range_id, uint32_t secret_id);
    // Removes every entry of addr; returns how many.
    size_t revoke(const policy::Address &addr);
    std::vector<Entry> list() const;
    // Deletes entries that expired before now_ns; returns them for the log.
    std::vector<Entry> sweep(uint64_t now_ns);

  private:
    // Workers of one interface share this object: the read-compare-write of a grant runs
    // under the address's stripe, so a shorter grant never overwrites a longer one.
    std::mutex &stripe(const policy::Address &addr);

    int fd_;
    std::array<std::mutex, 64> stripes_;
};

}  // namespace xk::auth
