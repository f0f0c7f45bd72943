#include "gate_frames.hpp"

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "fixtures/fixtures.hpp"
#include "gate/counters.hpp"
#include "xdpknock/maps.h"
#include "xdpknock/parse.h"

namespace xk::test {
namespace {

std::vector<GateCase> buildCases() {
    std::vector<GateCase> all;
    for (auto fixture :
         {fixtures::knockCases, fixtures::synCases, fixtures::tcpCases, fixtures::fragmentCases,
          fixtures::wakeCases, fixtures::otherCases, fixtures::sequenceCases, fixtures::udpCases}) {
        std::vector<GateCase> cases = fixture();
        std::move(cases.begin(), cases.end(), std::back_inserter(all));
    }
    return all;
}

constexpr AuthGrant kGrants[] = {
    {kV4AuthSsh, IPPROTO_TCP, kSshPort, false},
    {kV4AuthAll, 0, 0, false},
    {kV4Expired, IPPROTO_TCP, kSshPort, true},
    {kV4ExpiredPort, IPPROTO_TCP, kSshPort, true},
    {kV4ExpiredPort, 0, 0, false},
    {kV6AuthSsh, IPPROTO_TCP, kSshPort, false},
};

}  // namespace

std::span<const AuthGrant> authGrants() {
    return kGrants;
}

const std::vector<GateCase> &gateCases() {
    static const std::vector<GateCase> cases = buildCases();
    return cases;
}

// Strips the Ethernet header of every untagged IP frame: what a tun, ppp or WireGuard
// link hands XDP. Same world, same verdicts; plus what only a raw link can carry.
std::vector<GateCase> buildRawIpCases() {
    std::vector<GateCase> out;
    for (const GateCase &c : gateCases()) {
        if (c.frame.size() <= ETH_HLEN) continue;
        uint16_t type = uint16_t(c.frame[12] << 8 | c.frame[13]);
        if (type != ETH_P_IP && type != ETH_P_IPV6) continue;
        out.push_back({"raw_" + c.name, Bytes(c.frame.begin() + ETH_HLEN, c.frame.end()), c.parse,
                       c.action, c.counter});
    }
    Bytes notIp = fixtures::syn4(kV4Stranger, kSshPort);
    notIp.erase(notIp.begin(), notIp.begin() + ETH_HLEN);
    notIp[0] = 0x55;  // version 5: neither IPv4 nor IPv6
    out.push_back({"raw_version_5", notIp, XK_PARSE_NOT_IP, XDP_PASS, XK_CNT_OTHER_PASS});
    return out;
}

const std::vector<GateCase> &rawIpCases() {
    static const std::vector<GateCase> cases = buildRawIpCases();
    return cases;
}

const GateCase &gateCase(std::string_view name) {
    for (const GateCase &c : gateCases())
        if (c.name == name) return c;
    throw std::out_of_range("no gate case " + std::string(name));
}

Ipv6Addr gateAddr(std::string_view text) {
    if (text.find(':') != std::string_view::npos) return parseIpv6(text);
    Ipv4Addr v4 = parseIpv4(text);
    Ipv6Addr mapped{};
    mapped[10] = mapped[11] = 0xff;
    std::copy(v4.begin(), v4.end(), mapped.begin() + 12);
    return mapped;
}

Bytes fkoShaped(size_t length, char first) {
    static constexpr std::string_view kB64 =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    Bytes out(length);
    for (size_t i = 0; i < length; i++) out[i] = uint8_t(kB64[(i * 7 + 3) % kB64.size()]);
    if (length) out[0] = uint8_t(first);
    return out;
}

const char *counterName(uint32_t counter) {
    return gate::counter_name(counter);  // the names status and the daemon use
}

const char *actionName(uint32_t action) {
    switch (action) {
        case XDP_ABORTED:
            return "ABORTED";
        case XDP_DROP:
            return "DROP";
        case XDP_PASS:
            return "PASS";
        case XDP_TX:
            return "TX";
        case XDP_REDIRECT:
            return "REDIRECT";
        default:
            return "?";
    }
}

}  // namespace xk::test
