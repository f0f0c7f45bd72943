#include "cli/status.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "auth/authorized.hpp"
#include "gate/gate.hpp"
#include "nft/nft_counters.hpp"
#include "nft/nft_store.hpp"
#include "stats/json_printer.hpp"
#include "stats/stats_file.hpp"
#include "stats/table_printer.hpp"

namespace xk::cli {
namespace {

namespace fs = std::filesystem;

struct Fd {
    int fd;
    explicit Fd(const std::string &path) : fd(bpf_obj_get(path.c_str())) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

// Longest-lasting first.
std::vector<stats::Authorization> authorizations(std::vector<auth::Entry> entries) {
    const uint64_t now = auth::monotonic_ns();
    std::sort(entries.begin(), entries.end(),
              [](const auto &a, const auto &b) { return a.value.expires_ns > b.value.expires_ns; });
    std::vector<stats::Authorization> out;
    out.reserve(entries.size());
    for (const auto &e : entries) {
        int64_t left =
            (static_cast<int64_t>(e.value.expires_ns) - static_cast<int64_t>(now)) / 1000000000;
        out.push_back(
            {e.addr, e.port, left > 0 ? left : 0, left <= 0, e.value.range_id, e.value.secret_id});
    }
    return out;
}

// The gate as its pins show it, daemon or not: what is attached, counters, authorizations.
stats::Interface pinned_interface(const fs::path &dir) {
    stats::Interface i;
    i.name = dir.filename().string();
    i.xdp = gate::attach_state(i.name);
    Fd counters((dir / XK_MAP_COUNTERS).string());
    if (counters.fd >= 0) i.counters = gate::read_counters(counters.fd);
    Fd authorized((dir / XK_MAP_AUTHORIZED).string());
    i.authorized.emplace();
    if (authorized.fd >= 0) i.authorized = authorizations(auth::Authorized(authorized.fd).list());
    return i;
}

// An nftables gate as its table shows it: the same counters and authorizations.
stats::Interface nft_interface(const std::string &ifname) {
    stats::Interface i;
    i.name = ifname;
    i.mode = "nftables";
    i.counters = nft::gate_counters(nft::NftGate::counters_of(ifname));
    i.authorized = authorizations(nft::NftStore(ifname).list());
    return i;
}

// Merges what only the daemon knows into an interface read from the kernel.
void add_daemon_view(stats::Interface &i, const std::optional<stats::Snapshot> &daemon) {
    for (const auto &d : daemon ? daemon->interfaces : std::vector<stats::Interface>{}) {
        if (d.name != i.name) continue;
        // A pinned row and an nftables row of one name (a "gate" changed, not detached):
        // each keeps its own kind.
        if (i.mode.empty() && d.mode != "nftables") i.mode = d.mode;
        i.pipeline = d.pipeline;
        i.ranges = d.ranges;
    }
}

}  // namespace

// The pinned maps are the truth for the gate (fresh, and there with no daemon); the
// daemon's stats.json adds what only it knows: queues, workers, latency, wake hosts, the
// cluster.
int run_status(const std::string &pin_root, const std::string &run_dir, bool as_json) {
    std::error_code ec;
    const std::vector<std::string> nft_gates = nft::NftGate::gated_interfaces();
    if (!fs::is_directory(pin_root, ec) && nft_gates.empty()) {
        fprintf(stderr,
                "xdpknock: no gate pinned under %s and no nftables gate (is xdpknockd "
                "running?)\n",
                pin_root.c_str());
        return 1;
    }
    const std::optional<stats::Snapshot> daemon = stats::read_file(run_dir);
    stats::Snapshot all;
    for (const auto &dir : fs::directory_iterator(pin_root, ec)) {
        if (!dir.is_directory()) continue;
        all.interfaces.push_back(pinned_interface(dir.path()));
    }
    for (const auto &ifname : nft_gates) all.interfaces.push_back(nft_interface(ifname));
    for (auto &i : all.interfaces) add_daemon_view(i, daemon);
    if (daemon) all.hosts = daemon->hosts;
    if (daemon) all.cluster = daemon->cluster;
    if (as_json) {
        printf("%s\n", stats::to_json(all, 2).c_str());
    } else {
        fputs(stats::to_table(all).c_str(), stdout);
    }
    return 0;
}

}  // namespace xk::cli
