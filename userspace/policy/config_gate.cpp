#include "policy/config_gate.hpp"

#include "policy/config_json.hpp"

namespace xk::policy::config_gate {
namespace {

using namespace config_json;

Endpoint parse_nat_to(const json &j, const std::string &path) {
    const json &nat = j.at("nat");
    if (!nat.is_object()) fail(path + ".nat", "must be an object: {\"to\": \"ADDR:PORT\"}");
    only_keys(nat, path + ".nat", {"to"});
    const std::string to = get_string(nat, path + ".nat", "to", "", true);
    std::string problem;
    auto at = parse_endpoint(to, &problem);
    if (!at) fail(path + ".nat.to", problem + " (e.g. 192.168.1.100:22)");
    return *at;
}

void parse_snat(const json &j, const std::string &path, Nat &nat) {
    const std::string snat = get_string(j, path, "snat", "");
    if (snat.empty()) return;
    if (!nat.enabled())
        fail(path + ".snat", "translates the source of NAT access: set nat or allow_client_nat");
    if (snat == "masquerade") {
        nat.snat = Snat::masquerade;
        return;
    }
    auto addr = parse_address(snat);
    if (!addr) fail(path + ".snat", "must be \"masquerade\" or an IP address");
    nat.snat = Snat::address;
    nat.snat_address = *addr;
}

}  // namespace

GateKind parse_gate(const json &j, const std::string &path) {
    const std::string gate = get_string(j, path, "gate", "xdp");
    if (gate == "xdp") return GateKind::xdp;
    if (gate == "nftables") return GateKind::nftables;
    fail(path + ".gate", "must be xdp or nftables, not \"" + gate + "\"");
}

void parse_nat(const json &j, const std::string &path, Range &r) {
    Nat &nat = r.nat;
    if (j.contains("nat")) nat.to = parse_nat_to(j, path);
    nat.allow_client = get_bool(j, path, "allow_client_nat", false);
    const json &targets = get_array(j, path, "nat_targets", false);
    for (size_t i = 0; i < targets.size(); ++i) {
        const std::string p = path + ".nat_targets[" + std::to_string(i) + "]";
        auto cidr =
            targets[i].is_string() ? parse_cidr(targets[i].get<std::string>()) : std::nullopt;
        if (!cidr) fail(p, "must be an IPv4/IPv6 address or CIDR");
        nat.targets.push_back(*cidr);
    }
    if (nat.allow_client && r.method != Method::fko)
        fail(path + ".allow_client_nat", "NAT access requests come in fko knocks only");
    if (nat.allow_client && nat.targets.empty())
        fail(path + ".nat_targets",
             "allow_client_nat needs the inner networks a client may ask for (CIDRs)");
    if (!nat.allow_client && !nat.targets.empty())
        fail(path + ".nat_targets", "only used with \"allow_client_nat\": true");
    parse_snat(j, path, nat);
}

void check_gates(const Config &c) {
    for (size_t i = 0; i < c.interfaces.size(); ++i) {
        if (c.interfaces[i].gate != GateKind::nftables) continue;
        const std::string path = "interfaces[" + std::to_string(i) + "].gate";
        for (const Range &r : c.ranges) {
            if (r.method == Method::sequence)
                fail(path, "nftables: range " + r.name +
                               " is a port sequence, whose per-source state lives in the XDP "
                               "gate; use \"gate\": \"xdp\" for it");
            if (r.takes(Transport::http))
                fail(path, "nftables: range " + r.name +
                               " takes http knocks, which the XDP gate hands over; use "
                               "\"gate\": \"xdp\"");
        }
        if (!c.hosts.empty())
            fail(path,
                 "nftables: Wake-on-LAN (config.hosts) needs the XDP gate, which sees the "
                 "authorized SYN");
    }
}

}  // namespace xk::policy::config_gate
