#pragma once
// Judges one knock against the ranges listening on its port, in config order; the first
// range and secret that accept it win. One instance per worker: it owns that worker's
// pre-built crypto contexts, so checks take no lock and allocate nothing.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "policy/address.hpp"
#include "policy/config.hpp"
#include "spa/reject.hpp"

namespace xk::policy {

struct Knock {
    Address source;  // the packet's source: the only address a knock can authorize
    uint16_t port = 0;
    std::span<const uint8_t> payload;
};

constexpr size_t kMaxGrantPorts = 128;

struct Decision {
    spa::Reject reason = spa::Reject::no_secret_matched;
    uint32_t range_id = 0;
    uint32_t secret_id = 0;
    uint32_t timeout_s = 0;
    std::array<PortRef, kMaxGrantPorts> ports{};
    size_t nports = 0;

    bool accepted() const { return reason == spa::Reject::ok; }
    std::span<const PortRef> grant() const { return {ports.data(), nports}; }
};

class KnockPolicy {
public:
    explicit KnockPolicy(const Config &config);

    Decision check(const Knock &knock) const;
    const Config &config() const { return config_; }
    // True when some range listens on this UDP port.
    bool listens(uint16_t port) const;

private:
    spa::Reject check_plain(const Range &range, const Knock &knock, Decision &d) const;

    const Config &config_;
    std::vector<std::pair<uint16_t, uint32_t>> by_port_;  // sorted (port, range index)
};

}  // namespace xk::policy
