#pragma once
// The nftables gate of one interface (nft/nft_ruleset.hpp holds its layout): attached with
// one atomic batch, its ports rewritten on reload, its counters read for the status, and
// detached only on request. Like the XDP gate it fails closed: a stop leaves it loaded,
// grants expire in the kernel, the next start adopts them.

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "nft/nft_ruleset.hpp"

struct nft_ctx;

namespace xk::nft {

// A failed nft command: nft's own message, and the errno it names (EIO if none).
class NftError : public std::runtime_error {
  public:
    NftError(const std::string &what, int err) : std::runtime_error(what), err_(err) {}
    int error() const { return err_; }

  private:
    int err_;
};

// One libnftables context. A context is not thread-safe: every call holds its mutex.
// The one place that runs nft commands (the gate and the grant store share it).
class NftContext {
  public:
    NftContext();
    ~NftContext();
    NftContext(const NftContext &) = delete;
    NftContext &operator=(const NftContext &) = delete;

    // Runs a script as one netlink batch: all of it or nothing. Returns 0 or -errno;
    // `error` (if given) receives nft's message.
    int try_run(const std::string &script, std::string *error = nullptr);
    // As try_run; throws NftError("<context>: <nft's message>") on failure.
    void run(const std::string &script, const std::string &context);
    // A list command's output as parsed JSON (its "nftables" array). Throws NftError.
    nlohmann::json list_json(const std::string &command);
    // The chains of table `inet <table>`; none when it is absent.
    std::vector<std::string> chains(std::string_view table);

  private:
    int run_locked(const std::string &script, std::string *error);

    std::mutex mu_;
    nft_ctx *ctx_;
};

struct Counters {
    uint64_t dropped_packets = 0, dropped_bytes = 0;  // to services, no grant
    uint64_t passed_packets = 0, passed_bytes = 0;    // new flows a grant let through
    uint64_t knocks_dropped_packets = 0, knocks_dropped_bytes = 0;
};

class NftGate {
  public:
    // Creates or updates the interface's gate in one batch, keeping the grants already in
    // its sets. Throws std::runtime_error naming the interface and nft's error.
    static std::unique_ptr<NftGate> attach(const GateSpec &spec);
    NftGate(const NftGate &) = delete;
    NftGate &operator=(const NftGate &) = delete;

    const std::string &ifname() const { return ifname_; }
    // A reload: the services and knock ports, rewritten atomically; grants untouched.
    void write_ports(const GateSpec &spec);
    // "" while the chain is there and ends with its drop rule; else what happened. The
    // chain's presence is checked every call, its rules at most 5% of the time.
    std::string lost() const;
    // The named counters (a listing that costs ~35 ms with 10,000 grants in the sets).
    Counters counters() const;

    static bool present(const std::string &ifname);
    // The counters of ifname's gate, from another process (the CLI's status).
    static Counters counters_of(const std::string &ifname);
    // Removes the interface's gate (and the table with the last one); a line for the admin.
    static std::string detach(const std::string &ifname);
    // Interfaces with a gate chain in table inet xdpknock.
    static std::vector<std::string> gated_interfaces();

  private:
    static Counters read_counters(NftContext &nft, const std::string &ifname);
    explicit NftGate(std::string ifname) : ifname_(std::move(ifname)) {}
    std::string rules_check() const;

    std::string ifname_;
    uint32_t ifindex_ = 0;  // GateSpec::ifindex at attach
    mutable NftContext nft_;
    mutable std::mutex lost_mu_;
    mutable std::string rules_lost_;               // the last rules check's verdict
    mutable uint64_t rules_checked_after_ns_ = 0;  // checked again from then
};

}  // namespace xk::nft
