#include "catalog_world.hpp"

#include <iterator>
#include <string>

#include "gate_frames.hpp"

namespace xk::test {
namespace {

// Key material of no value: the gate only ever sees the shapes the ranges accept.
constexpr const char *kFkoSecret = R"({"label": "k", "key": "catalog-rijndael-key",)"
                                   R"( "hmac_key": "catalog-hmac-key-catalog-hmac-key"})";

std::string plainSecret(size_t length) {
    return R"({"label": "len)" + std::to_string(length) + R"(", "secret": ")" +
           std::string(length, 's') + R"("})";
}

std::string range(const std::string &name, const char *method, uint16_t port,
                  const std::string &secrets, const std::string &extra = "") {
    return R"({"name": ")" + name + R"(", "method": ")" + method + R"(", "port": )" +
           std::to_string(port) + R"(, "open": ["tcp/22"], "secrets": [)" + secrets + "]" + extra +
           "}";
}

std::string sequenceRange() {
    auto step = [](const char *proto, uint16_t port) {
        return "\"" + std::string(proto) + "/" + std::to_string(port) + "\"";
    };
    return R"({"name": "seq", "method": "sequence", "sequence": [)" + step("tcp", kSeqFirst) +
           ", " + step("udp", kSeqMiddle) + ", " + step("tcp", kSeqLast) +
           R"(], "tcp_flags": "syn", "open": ["tcp/22"]})";
}

std::string ranges() {
    std::string plain;
    for (uint16_t len : kPlainLengths) plain += (plain.empty() ? "" : ", ") + plainSecret(len);
    return "[" + range("fko", "fko", kKnockPort, kFkoSecret) + ", " +
           range("plain", "plain", kPlainPort, plain) + ", " +
           range("shared-fko", "fko", kSharedPort, kFkoSecret) + ", " +
           range("shared-plain", "plain", kSharedPort, plainSecret(kSharedPlainLength)) + ", " +
           range("rate", "fko", kRatePort, kFkoSecret) + ", " +
           range("fko-raw", "fko", kKnockPort, kFkoSecret,
                 R"(, "transports": ["tcpraw", "icmp"])") +
           ", " +
           range("fko-http", "fko", kHttpKnockPort, kFkoSecret, R"(, "transports": ["http"])") +
           ", " + sequenceRange() + "]";
}

std::string services() {
    return R"([{"name": "ssh", "port": "tcp/)" + std::to_string(kSshPort) +
           R"("}, {"name": "https", "port": "tcp/)" + std::to_string(kHttpsPort) +
           R"("}, {"name": "vpn", "port": "udp/)" + std::to_string(kVpnPort) +
           R"("}, {"name": "wake", "port": "tcp/)" + std::to_string(kWakePort) +
           R"(", "host": "sleeper"}, {"name": "wake-by-addr", "port": "tcp/)" +
           std::to_string(kWakeAddrPort) + R"(", "host": "addr-sleeper", "address": ")" +
           std::string(kV4Gateway) + R"("}])";
}

// Host ids are index + 1: "sleeper" is kWakeHost, "addr-sleeper" kWakeAddrHost.
constexpr const char *kHosts =
    R"([{"name": "sleeper", "mac": "02:00:5e:10:00:01", "ipv4": "10.99.1.2", "interface": "lan0"},
        {"name": "addr-sleeper", "mac": "02:00:5e:10:00:02", "ipv4": "10.99.1.3",
         "interface": "lan0"}])";
static_assert(kWakeHost == 1 && kWakeAddrHost == 2);

}  // namespace

std::string catalogConfigJson() {
    // knock_rate is kRatePort's bucket (10/s, burst 3); the other knock ports are opened
    // up by hand afterwards (LoadedGate::installCatalogWorld), since no config reaches
    // their 1 ns interval.
    static_assert(kRateIntervalNs == 1'000'000'000u / 10 && kRateBurst == 3);
    return R"({"interfaces": [{"name": ")" + std::string(kCatalogIfname) +
           R"("}], "knock_rate": {"per_source_pps": 10, "burst": 3}, "hosts": )" + kHosts +
           R"(, "services": )" + services() + R"(, "ranges": )" + ranges() + "}";
}

policy::Config catalogConfig() {
    return policy::parse_config(catalogConfigJson());
}

}  // namespace xk::test
