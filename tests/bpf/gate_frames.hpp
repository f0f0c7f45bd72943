// The frame catalog every gate test and the perf tool share: one named frame per class
// of traffic, with the parser result, XDP action and counter it must produce in the
// world described here (ports and authorizations that LoadedGate installs). The frames
// live in fixtures/, one file per feature.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/packet_builder.hpp"

namespace xk::test {

inline constexpr uint16_t kKnockPort = 62201;   // fko
inline constexpr uint16_t kPlainPort = 62202;   // plain secrets of kPlainLengths bytes
inline constexpr uint16_t kSharedPort = 62203;  // fko, and a plain secret of kSharedPlainLength
inline constexpr uint16_t kRatePort = 62204;    // fko, with a tight per-source token bucket
inline constexpr uint16_t kHttpKnockPort =
    8000;  // fko over http (a web server's), kRatePort's bucket
inline constexpr uint16_t kPlainLengths[] = {5, 12, 20};
inline constexpr uint16_t kSharedPlainLength = 16;
// Catalog knock ports: 1 ns per token and a second of burst, so back-to-back test runs never
// run dry, even within one tick of the coarse clock the bucket reads.
inline constexpr uint32_t kOpenRateIntervalNs = 1;
inline constexpr uint64_t kOpenRateBurstNs = 1'000'000'000;
// kRatePort: 10 knocks/s per source, burst 3.
inline constexpr uint32_t kRateIntervalNs = 100'000'000;
inline constexpr uint32_t kRateBurst = 3;
inline constexpr uint16_t kSshPort = 22;     // protected
inline constexpr uint16_t kHttpsPort = 443;  // protected
inline constexpr uint16_t kWebPort = 80;     // not protected
inline constexpr uint16_t kDnsPort = 53;     // plain UDP
inline constexpr uint16_t kVpnPort = 1194;   // protected UDP (bpf_udp_test: grants, flows)
// Wake-on-LAN services (protected): host ids are the config's host index + 1.
inline constexpr uint16_t kWakePort = 8080;      // wakes kWakeHost
inline constexpr uint16_t kWakeAddrPort = 8081;  // wakes kWakeAddrHost, only SYNs to kV4Gateway
inline constexpr uint32_t kWakeHost = 1, kWakeAddrHost = 2;
// The catalog's sequence range (method "sequence", tcp_flags "syn"): tcp/kSeqFirst,
// udp/kSeqMiddle, tcp/kSeqLast, then it opens tcp/22.
inline constexpr uint16_t kSeqFirst = 7000, kSeqMiddle = 7001, kSeqLast = 7002;

inline constexpr std::string_view kV4Gateway = "198.51.100.1";
inline constexpr std::string_view kV4AuthSsh = "192.0.2.10";      // tcp/22, live
inline constexpr std::string_view kV4AuthAll = "192.0.2.11";      // every port, live
inline constexpr std::string_view kV4Expired = "192.0.2.12";      // tcp/22, expired
inline constexpr std::string_view kV4Stranger = "192.0.2.13";     // nothing
inline constexpr std::string_view kV4ExpiredPort = "192.0.2.14";  // tcp/22 expired, all live
inline constexpr std::string_view kV6Gateway = "2001:db8:1::1";
inline constexpr std::string_view kV6AuthSsh = "2001:db8::10";   // tcp/22, live
inline constexpr std::string_view kV6Stranger = "2001:db8::13";  // nothing

struct AuthGrant {
    std::string_view addr;  // IPv4 or IPv6 text
    uint8_t proto;          // IPPROTO_TCP, or 0 with port 0 for every port
    uint16_t port;
    bool expired;
};
std::span<const AuthGrant> authGrants();

struct GateCase {
    std::string name;  // a gtest-friendly identifier
    Bytes frame;
    int parse;         // enum xk_parse_result
    uint32_t action;   // enum xdp_action
    uint32_t counter;  // enum xk_counter
};
const std::vector<GateCase> &gateCases();
// The untagged IP cases without their Ethernet header (gate loaded for a raw-IP link).
const std::vector<GateCase> &rawIpCases();
const GateCase &gateCase(std::string_view name);

// The map key form of an address: IPv6 as is, IPv4 as ::ffff:a.b.c.d.
Ipv6Addr gateAddr(std::string_view text);

// A payload of the fko shape: `length` base64 characters starting with `first`.
Bytes fkoShaped(size_t length = 182, char first = '+');

const char *counterName(uint32_t counter);
const char *actionName(uint32_t action);

}  // namespace xk::test
