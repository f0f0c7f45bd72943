#pragma once
// fwknop's NAT access on nftables, beside either gate: a grant with a NAT target (a range's
// "nat", or a client's -N request the range allows) also maps (source, proto, port) to the
// inner host:port in a DNAT map, with the grant's timeout; the kernel expires the mapping,
// conntrack keeps the connections it made. Its own table, `inet xdpknock_nat`, so an XDP
// gate can use it too: per interface two maps and a prerouting chain at dstnat - 10, and one
// postrouting chain with the ranges' source translation ("snat"), and an input chain that
// drops every flow it translated to the gateway itself (NAT access only forwards). Flows it
// translates carry ct mark 0x786b0000, for an admin's forward rules.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "auth/nat_table.hpp"
#include "nft/nft_gate.hpp"
#include "policy/address.hpp"
#include "policy/config.hpp"

namespace xk::nft {

inline constexpr std::string_view kNatTable = "xdpknock_nat";
inline constexpr uint32_t kNatMark = 0x786b0000;

// Whether a range of config forwards anything (then the daemon opens NAT access).
bool nat_wanted(const policy::Config &config);

// The script text (pure): what open() runs for ifname, and the source translation chain for
// config's ranges (flushed and refilled: a reload).
std::string nat_attach_script(std::string_view ifname, const policy::Config &config);
std::string nat_snat_script(const policy::Config &config);
// "<src> . <proto> . <port> timeout <timeout_text> : <to> . <to port>"
std::string nat_element(const policy::Address &src, const policy::PortRef &port,
                        const policy::Endpoint &to, uint64_t timeout_ms);

class NatAccess : public auth::NatTable {
  public:
    // Creates what is missing for ifname and keeps the mappings already made (a restart
    // adopts them). Throws NftError naming the interface.
    static std::unique_ptr<NatAccess> open(const std::string &ifname, const policy::Config &config);
    NatAccess(const NatAccess &) = delete;
    NatAccess &operator=(const NatAccess &) = delete;

    void write_rules(const policy::Config &config);  // a reload's source translation
    // Forwards src's new connections to port on this interface to `to` until now +
    // timeout_s. Extend-only for the same target; another target replaces the mapping.
    // 0, -EAFNOSUPPORT (src and to of different families), -EINVAL (no single port), or
    // nft's -errno.
    int map(const policy::Address &src, const policy::PortRef &port, const policy::Endpoint &to,
            uint32_t timeout_s) override;
    // Ends src's mappings (its open connections keep theirs); returns how many.
    size_t unmap(const policy::Address &src) override;
    size_t size() const;

    // From another process (`xdpknock revoke`): ends src's mappings on ifname; how many.
    static size_t unmap_source(const std::string &ifname, const policy::Address &src);
    // Removes ifname's maps and chain (and the table with the last interface); a line for
    // the admin, "" when there was nothing.
    static std::string detach(const std::string &ifname);

  private:
    struct Mapping {
        policy::Endpoint to;
        uint64_t expires_ns = 0;  // CLOCK_MONOTONIC
    };
    explicit NatAccess(std::string ifname) : ifname_(std::move(ifname)) {}
    static std::map<std::string, Mapping> read(NftContext &nft, const std::string &ifname, bool v6);
    void load();

    std::string ifname_;
    mutable NftContext nft_;
    mutable std::mutex mu_;
    std::map<std::string, Mapping> mappings_;  // by element key ("src . proto . port")
    uint64_t maps_ = 0;                        // map() calls that wrote
};

}  // namespace xk::nft
