#pragma once
// The sockets the wake box needs on one interface of the gateway: a packet socket that
// sends magic frames and ARP probes and hears ARP answers, an ICMPv6 socket for NDP
// probes and answers, and a UDP socket for the UDP wake types.

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/address.hpp"
#include "policy/config.hpp"
#include "wake/magic_packet.hpp"

namespace xk::wake {

class WakeError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

class LinkSockets {
  public:
    explicit LinkSockets(const std::string &ifname);  // throws WakeError
    ~LinkSockets();
    LinkSockets(const LinkSockets &) = delete;
    LinkSockets &operator=(const LinkSockets &) = delete;

    // One magic packet the way the host's config asks; false (errno kept) if not sent.
    bool send_magic(const policy::Host &host);
    // ARP request for its IPv4 and / or NDP neighbor solicitation for its IPv6.
    void send_probe(const policy::Host &host);
    // Addresses that answered a probe (or announced themselves) since the last call.
    std::vector<policy::Address> answers();

    const std::string &name() const { return ifname_; }
    int arp_fd() const { return packet_fd_; }
    int ndp_fd() const { return icmp6_fd_; }

  private:
    void refresh_addresses();  // the interface's MAC and IPv4 may change while we run

    std::string ifname_;
    int ifindex_ = 0;
    Mac mac_{};
    std::optional<uint32_t> ipv4_, broadcast_;  // network order
    int packet_fd_ = -1, icmp6_fd_ = -1, udp4_fd_ = -1, udp6_fd_ = -1;
};

}  // namespace xk::wake
