#pragma once
// The NAT companion of a grant store: a grant with a NAT target (fwknop's NAT access) also
// forwards its source's new connections to one port on to an inner host, for the grant's
// time. nft/nft_nat.hpp implements it on nftables, beside either gate.

#include <cstddef>
#include <cstdint>

#include "policy/address.hpp"
#include "policy/config.hpp"

namespace xk::auth {

class NatTable {
  public:
    virtual ~NatTable() = default;
    // Until now + timeout_s; extend-only for the same target. 0 or -errno.
    virtual int map(const policy::Address &src, const policy::PortRef &port,
                    const policy::Endpoint &to, uint32_t timeout_s) = 0;
    // Ends src's mappings (connections already made keep theirs); returns how many.
    virtual size_t unmap(const policy::Address &src) = 0;
};

}  // namespace xk::auth
