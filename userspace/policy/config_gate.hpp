#pragma once
// Which gate an interface runs ("gate": xdp | nftables) and a range's NAT access ("nat",
// "snat", "allow_client_nat", "nat_targets"). Internal to policy/config*.cpp.

#include <nlohmann/json.hpp>
#include <string>

#include "policy/config.hpp"

namespace xk::policy::config_gate {

inline constexpr const char *kNatKeys[] = {"nat", "snat", "allow_client_nat", "nat_targets"};

GateKind parse_gate(const nlohmann::json &j, const std::string &path);
void parse_nat(const nlohmann::json &j, const std::string &path, Range &r);
// What an nftables gate cannot do, refused naming the key: it has no XDP program, so no
// sequence state, no http knock events and no wake events.
void check_gates(const Config &c);

}  // namespace xk::policy::config_gate
