#include "nft/nft_nat.hpp"

#include <cerrno>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "log/clock.hpp"
#include "nft/nft_ruleset.hpp"

namespace xk::nft {
namespace {

using nlohmann::json;

const std::string kObj = std::string(kFamily) + " " + std::string(kNatTable) + " ";
constexpr const char *kSnatChain = "source_nat";  // "snat" is a keyword
constexpr const char *kLocalChain = "local_guard";

std::string map_name(std::string_view ifname, bool v6) {
    return encode_ifname(ifname) + (v6 ? "_nat6" : "_nat4");
}
std::string dnat_chain(std::string_view ifname) {
    return encode_ifname(ifname) + "_dnat";
}

std::string mark() {
    char hex[16];
    snprintf(hex, sizeof(hex), "0x%08x", kNatMark);
    return hex;
}

// Per family: the map, the ct mark on flows it translates, and the translation itself.
std::string dnat_rules(std::string_view ifname, bool v6) {
    const std::string ip = v6 ? "ip6" : "ip", map = map_name(ifname, v6);
    const std::string key = ip + " saddr . meta l4proto . th dport";
    const std::string rule =
        "add rule " + kObj + dnat_chain(ifname) + " meta l4proto { tcp, udp } ";
    return "add map " + kObj + map + " { type " + (v6 ? "ipv6_addr" : "ipv4_addr") +
           " . inet_proto . inet_service : " + (v6 ? "ipv6_addr" : "ipv4_addr") +
           " . inet_service; flags timeout; }\n" + rule + key + " @" + map + " ct mark set " +
           mark() + "\n" + rule + "dnat " + ip + " to " + key + " map @" + map + "\n";
}

// The flows a range forwards, as they leave: its target, or the networks clients may ask.
std::vector<std::string> snat_matches(const policy::Nat &nat) {
    std::vector<std::string> out;
    if (nat.to) {
        const bool v6 = !nat.to->addr.is_v4();
        out.push_back(std::string(v6 ? "ip6" : "ip") + " daddr " +
                      policy::format_address(nat.to->addr) +
                      " meta l4proto { tcp, udp } th dport " + std::to_string(nat.to->port));
    }
    for (const auto &c : nat.allow_client ? nat.targets : std::vector<policy::Cidr>{}) {
        const bool v6 = !c.base.is_v4();
        const unsigned prefix = v6 ? c.prefix : c.prefix - 96u;
        out.push_back(std::string(v6 ? "ip6" : "ip") + " daddr " + policy::format_address(c.base) +
                      "/" + std::to_string(prefix));
    }
    return out;
}

std::string snat_action(const policy::Nat &nat, bool v6) {
    if (nat.snat == policy::Snat::masquerade) return "masquerade";
    if (nat.snat_address.is_v4() == v6) return "";  // no address of this family to use
    return std::string("snat ") + (v6 ? "ip6" : "ip") + " to " +
           policy::format_address(nat.snat_address);
}

void check_quotable(std::string_view ifname) {
    if (ifname.empty() || ifname.find_first_of("\"\\*") != std::string_view::npos)
        throw NftError("NAT access: cannot name interface '" + std::string(ifname) + "' in a rule",
                       EINVAL);
}

}  // namespace

bool nat_wanted(const policy::Config &config) {
    for (const auto &r : config.ranges)
        if (r.nat.enabled()) return true;
    return false;
}

std::string nat_snat_script(const policy::Config &config) {
    // NAT access only ever forwards: a target that is the gateway itself (a client's -N to
    // its LAN address) would reach a local service past the gate's port policy.
    std::string s = "add table " + std::string(kFamily) + " " + std::string(kNatTable) + "\n" +
                    "add chain " + kObj + kLocalChain +
                    " { type filter hook input priority filter - 10; policy accept; }\n" +
                    "flush chain " + kObj + kLocalChain + "\n" + "add rule " + kObj + kLocalChain +
                    " ct mark " + mark() + " drop\n" + "add chain " + kObj + kSnatChain +
                    " { type nat hook postrouting priority srcnat - 10; policy accept; }\n" +
                    "flush chain " + kObj + kSnatChain + "\n";
    for (const auto &r : config.ranges) {
        if (r.nat.snat == policy::Snat::none) continue;
        for (const std::string &match : snat_matches(r.nat)) {
            const std::string action = snat_action(r.nat, match.rfind("ip6", 0) == 0);
            if (action.empty()) continue;
            s += "add rule " + kObj + kSnatChain + " ct mark " + mark() + " " + match + " " +
                 action + "\n";
        }
    }
    return s;
}

std::string nat_attach_script(std::string_view ifname, const policy::Config &config) {
    check_quotable(ifname);
    const std::string chain = dnat_chain(ifname);
    return nat_snat_script(config) + "add chain " + kObj + chain +
           " { type nat hook prerouting priority dstnat - 10; policy accept; }\n" + "flush chain " +
           kObj + chain + "\n" + "add rule " + kObj + chain + " iifname != \"" +
           std::string(ifname) + "\" accept\n" + dnat_rules(ifname, false) +
           dnat_rules(ifname, true);
}

std::string nat_element(const policy::Address &src, const policy::PortRef &port,
                        const policy::Endpoint &to, uint64_t timeout_ms) {
    return element_key(src, port) + " timeout " + timeout_text(timeout_ms) + " : " +
           policy::format_address(to.addr) + " . " + std::to_string(to.port);
}

std::unique_ptr<NatAccess> NatAccess::open(const std::string &ifname,
                                           const policy::Config &config) {
    std::unique_ptr<NatAccess> nat(new NatAccess(ifname));
    nat->nft_.run(nat_attach_script(ifname, config), ifname + ": NAT access");
    nat->load();
    return nat;
}

void NatAccess::write_rules(const policy::Config &config) {
    nft_.run(nat_snat_script(config), ifname_ + ": NAT source translation");
}

// A map's mappings as the kernel holds them: element key -> target, time left. None when
// the map is not there.
std::map<std::string, NatAccess::Mapping> NatAccess::read(NftContext &nft,
                                                          const std::string &ifname, bool v6) {
    std::map<std::string, Mapping> out;
    const uint64_t now = monotonic_ns();
    json list;
    try {
        list = nft.list_json("list map " + kObj + map_name(ifname, v6));
    } catch (const NftError &) {
        return out;
    }
    for (const auto &item : list) {
        if (!item.contains("map") || !item["map"].contains("elem")) continue;
        for (const auto &pair : item["map"]["elem"]) {
            const json &e = pair.at(0).at("elem");
            const json &k = e.at("val").at("concat"), &v = pair.at(1).at("concat");
            auto src = policy::parse_address(k.at(0).get<std::string>());
            auto to = policy::parse_address(v.at(0).get<std::string>());
            if (!src || !to) continue;
            const policy::PortRef port{k.at(1).get<uint8_t>(), k.at(2).get<uint16_t>()};
            out[element_key(*src, port)] = {{*to, v.at(1).get<uint16_t>()},
                                            now + e.value("expires", uint64_t{0}) * 1000000000ull};
        }
    }
    return out;
}

// The mappings a last run made, with the time they have left.
void NatAccess::load() {
    for (bool v6 : {false, true}) mappings_.merge(read(nft_, ifname_, v6));
}

size_t NatAccess::unmap_source(const std::string &ifname, const policy::Address &src) {
    NftContext nft;
    const std::string prefix = policy::format_address(src) + " . ";
    size_t n = 0;
    for (const auto &[key, m] : read(nft, ifname, !src.is_v4())) {
        if (key.rfind(prefix, 0) != 0) continue;
        n += nft.try_run("delete element " + kObj + map_name(ifname, !src.is_v4()) + " { " + key +
                         " }\n") == 0;
    }
    return n;
}

int NatAccess::map(const policy::Address &src, const policy::PortRef &port,
                   const policy::Endpoint &to, uint32_t timeout_s) {
    if (src.is_v4() != to.addr.is_v4()) return -EAFNOSUPPORT;
    if (port.proto == 0) return -EINVAL;
    const uint64_t now = monotonic_ns(), expires = now + uint64_t{timeout_s} * 1000000000ull;
    const std::string key = element_key(src, port), map = map_name(ifname_, !src.is_v4());
    std::lock_guard lock(mu_);
    auto it = mappings_.find(key);
    const bool held = it != mappings_.end() && it->second.expires_ns > now;
    if (held && it->second.to == to && it->second.expires_ns >= expires) return 0;
    std::string script;
    // A map's element takes a new timeout in place, but not a new target.
    if (held && !(it->second.to == to))
        script = "delete element " + kObj + map + " { " + key + " }\n";
    script += "add element " + kObj + map + " { " +
              nat_element(src, port, to, uint64_t{timeout_s} * 1000) + " }\n";
    if (int err = nft_.try_run(script)) return err;
    mappings_[key] = {to, expires};
    if (++maps_ % 1024 == 0)
        std::erase_if(mappings_, [&](const auto &m) {
            return m.second.expires_ns <= now;
        });  // the kernel expired them: keep the mirror as small as what is live
    return 0;
}

size_t NatAccess::unmap(const policy::Address &src) {
    std::lock_guard lock(mu_);
    const std::string prefix = policy::format_address(src) + " . ";
    const uint64_t now = monotonic_ns();
    std::string script;
    size_t n = 0;
    for (auto it = mappings_.begin(); it != mappings_.end();) {
        if (it->first.rfind(prefix, 0) != 0) {
            ++it;
            continue;
        }
        if (it->second.expires_ns > now) {
            script += "delete element " + kObj + map_name(ifname_, !src.is_v4()) + " { " +
                      it->first + " }\n";
            ++n;
        }
        it = mappings_.erase(it);
    }
    // One by one if the batch fails: an element the kernel expired meanwhile is no error.
    if (!script.empty() && nft_.try_run(script) != 0) {
        size_t at = 0;
        while (at < script.size()) {
            const size_t end = script.find('\n', at);
            nft_.try_run(script.substr(at, end - at + 1));
            at = end + 1;
        }
    }
    return n;
}

size_t NatAccess::size() const {
    std::lock_guard lock(mu_);
    const uint64_t now = monotonic_ns();
    size_t n = 0;
    for (const auto &[key, m] : mappings_) n += m.expires_ns > now;
    return n;
}

std::string NatAccess::detach(const std::string &ifname) {
    NftContext nft;
    bool mine = false, others = false;
    for (const std::string &name : nft.chains(kNatTable)) {
        if (name == dnat_chain(ifname))
            mine = true;
        else if (name != kSnatChain && name != kLocalChain)
            others = true;  // another interface's DNAT chain
    }
    if (!mine) return "";
    const std::string script =
        others
            ? "delete chain " + kObj + dnat_chain(ifname) + "\ndelete map " + kObj +
                  map_name(ifname, false) + "\ndelete map " + kObj + map_name(ifname, true) + "\n"
            : "delete table " + std::string(kFamily) + " " + std::string(kNatTable) + "\n";
    nft.run(script, ifname + ": NAT access");
    return ifname + ": NAT access removed (connections it forwarded keep going until they end)";
}

}  // namespace xk::nft
