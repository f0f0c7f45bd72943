#include "nft/nft_gate.hpp"

#include <net/if.h>

#include <nftables/libnftables.h>
#include <string.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "log/clock.hpp"
#include "log/log.hpp"

namespace xk::nft {
namespace {

using nlohmann::json;

// nft reports a kernel refusal as "Error: Could not process rule: <strerror text>": the
// errno is read back from that text, so callers can tell EEXIST or ENOENT from the rest.
int errno_in(const std::string &message) {
    for (int e = 1; e < 134; ++e) {
        const char *desc = strerrordesc_np(e);
        if (desc != nullptr && message.find(desc) != std::string::npos) return e;
    }
    return EIO;
}

std::string trimmed(const char *text) {
    std::string s = text == nullptr ? "" : text;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string our_table() {
    return std::string(kFamily) + " " + std::string(kTable);
}

std::vector<std::string> our_chains(NftContext &nft) {
    return nft.chains(kTable);
}

// libnftables sets process-wide state (GMP's allocators, symbol tables) when a context
// is made or freed: contexts of different threads are created and freed one at a time.
std::mutex &context_lifecycle() {
    static std::mutex mu;
    return mu;
}

}  // namespace

NftContext::NftContext() {
    std::lock_guard lock(context_lifecycle());
    ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx_ == nullptr) throw std::runtime_error("nftables: cannot create a libnftables context");
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
}

NftContext::~NftContext() {
    std::lock_guard lock(context_lifecycle());
    nft_ctx_free(ctx_);
}

int NftContext::run_locked(const std::string &script, std::string *error) {
    int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
    if (rc == 0) return 0;
    std::string message = trimmed(nft_ctx_get_error_buffer(ctx_));
    if (message.empty()) message = "nft failed";
    int err = errno_in(message);
    if (error != nullptr) *error = std::move(message);
    return -err;
}

int NftContext::try_run(const std::string &script, std::string *error) {
    std::lock_guard lock(mu_);
    nft_ctx_output_set_flags(ctx_, 0);
    return run_locked(script, error);
}

void NftContext::run(const std::string &script, const std::string &context) {
    std::string message;
    if (int err = try_run(script, &message)) throw NftError(context + ": " + message, -err);
}

// `list chains` skips nft's cache of set elements: cheap whatever the grants.
std::vector<std::string> NftContext::chains(std::string_view table) {
    std::vector<std::string> out;
    json list;
    try {
        list = list_json("list chains " + std::string(kFamily));
    } catch (const NftError &) {
        return out;
    }
    for (const auto &item : list) {
        if (!item.contains("chain")) continue;
        const auto &c = item["chain"];
        if (c.value("table", "") == table) out.push_back(c.value("name", ""));
    }
    return out;
}

json NftContext::list_json(const std::string &command) {
    std::string out, message;
    int err = 0;
    {
        std::lock_guard lock(mu_);
        // JSON out, numbers for protocols; the input stays nft's own syntax.
        nft_ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_PROTO);
        err = run_locked(command, &message);
        if (err == 0) out = nft_ctx_get_output_buffer(ctx_);
        nft_ctx_output_set_flags(ctx_, 0);
    }
    if (err != 0) throw NftError(command + ": " + message, -err);
    json parsed = json::parse(out, nullptr, false);
    if (parsed.is_discarded() || !parsed.contains("nftables"))
        throw NftError(command + ": nft printed no JSON", EIO);
    return parsed["nftables"];
}

std::unique_ptr<NftGate> NftGate::attach(const GateSpec &spec) {
    std::string script;
    try {
        script = attach_script(spec);
    } catch (const std::invalid_argument &e) {
        throw std::runtime_error(e.what());
    }
    std::unique_ptr<NftGate> gate(new NftGate(spec.ifname));
    gate->ifindex_ = spec.ifindex;
    gate->nft_.run(script, spec.ifname + ": cannot attach the nftables gate");
    XK_INFO("%s: nftables gate attached (table %s, chain %s)", spec.ifname.c_str(),
            our_table().c_str(), chain_name(spec.ifname).c_str());
    return gate;
}

void NftGate::write_ports(const GateSpec &spec) {
    nft_.run(ports_script(spec), spec.ifname + ": cannot rewrite the nftables gate's ports");
}

// Whether the chain is there: `list chains` skips nft's cache of set elements (1 ms),
// while reading its rules loads it (~35 ms with 10,000 grants): the rules are checked at
// most 5% of the time.
std::string NftGate::lost() const {
    // The AF_PACKET sockets are bound to the link's index: a recreated link gets no knock
    // judged, a renamed one is gated by index while the name now means another link.
    if (ifindex_ && if_nametoindex(ifname_.c_str()) != ifindex_)
        return ifname_ +
               ": the link was renamed, or removed and made again: its knocks no "
               "longer reach the workers (the chain stays: closed)";
    const std::string chain = chain_name(ifname_);
    const std::vector<std::string> chains = our_chains(nft_);
    if (std::find(chains.begin(), chains.end(), chain) == chains.end())
        return ifname_ + ": the nftables chain " + our_table() + " " + chain +
               " was removed: the interface is not gated";
    std::lock_guard lock(lost_mu_);
    const uint64_t start = monotonic_ns();
    if (start < rules_checked_after_ns_) return rules_lost_;
    rules_lost_ = rules_check();
    rules_checked_after_ns_ = monotonic_ns() + (monotonic_ns() - start) * 19;
    return rules_lost_;
}

// The last rule must still be the catch-all drop (a flush would leave the chain open).
std::string NftGate::rules_check() const {
    const std::string chain = chain_name(ifname_);
    json list;
    try {
        list = nft_.list_json("list chain " + our_table() + " " + chain);
    } catch (const NftError &e) {
        return ifname_ + ": cannot read the nftables chain " + chain + ": " + e.what();
    }
    const json *last = nullptr;
    for (const auto &item : list)
        if (item.contains("rule")) last = &item["rule"];
    if (last != nullptr && last->contains("expr") && !(*last)["expr"].empty() &&
        (*last)["expr"].back().contains("drop"))
        return "";
    return ifname_ + ": the nftables chain " + our_table() + " " + chain +
           " lost its rules: the interface is not gated";
}

Counters NftGate::counters() const {
    return read_counters(nft_, ifname_);
}

Counters NftGate::counters_of(const std::string &ifname) {
    NftContext nft;
    return read_counters(nft, ifname);
}

Counters NftGate::read_counters(NftContext &nft, const std::string &ifname) {
    Counters c;
    json list;
    try {
        list = nft.list_json("list counters table " + our_table());
    } catch (const NftError &e) {
        XK_WARN("%s: cannot read the nftables gate's counters: %s", ifname.c_str(), e.what());
        return c;
    }
    const std::string dropped = dropped_counter(ifname), passed = passed_counter(ifname),
                      knocked = knocked_counter(ifname);
    for (const auto &item : list) {
        if (!item.contains("counter")) continue;
        const auto &o = item["counter"];
        const std::string name = o.value("name", "");
        uint64_t packets = o.value("packets", uint64_t{0}), bytes = o.value("bytes", uint64_t{0});
        if (name == dropped) c.dropped_packets = packets, c.dropped_bytes = bytes;
        if (name == passed) c.passed_packets = packets, c.passed_bytes = bytes;
        if (name == knocked) c.knocks_dropped_packets = packets, c.knocks_dropped_bytes = bytes;
    }
    return c;
}

bool NftGate::present(const std::string &ifname) {
    NftContext nft;
    const std::vector<std::string> chains = our_chains(nft);
    return std::find(chains.begin(), chains.end(), chain_name(ifname)) != chains.end();
}

std::string NftGate::detach(const std::string &ifname) {
    NftContext nft;
    const std::vector<std::string> chains = our_chains(nft);
    const std::string ours = chain_name(ifname);
    if (std::find(chains.begin(), chains.end(), ours) == chains.end())
        return "no nftables gate on " + ifname;
    bool last = true;
    for (const auto &c : chains) last &= c == ours || !ifname_of_chain(c).has_value();
    nft.run(detach_script(ifname, last), ifname + ": cannot detach the nftables gate");
    return ifname + ": nftables gate detached" +
           (last ? " (table " + our_table() + " removed: it was the last)" : "");
}

std::vector<std::string> NftGate::gated_interfaces() {
    NftContext nft;
    std::vector<std::string> out;
    for (const auto &c : our_chains(nft)) {
        if (auto ifname = ifname_of_chain(c)) out.push_back(*ifname);
    }
    return out;
}

}  // namespace xk::nft
