// xdpknock status | allow | revoke | detach: the gate as its pinned maps show it, edited
// by hand through the same store the daemon grants through.
#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "auth/auth_filter.hpp"
#include "auth/authorized.hpp"
#include "cli/commands.hpp"
#include "cluster/cluster.hpp"
#include "log/clock.hpp"
#include "cli/status.hpp"
#include "gate/gate.hpp"
#include "nft/nft_nat.hpp"
#include "nft/nft_store.hpp"
#include "xdpknock/maps.h"

namespace xk::cli {
namespace {

struct HandEdit {
    std::string ifname, address, port = "*", config;
    uint32_t timeout = 30;
};

// With --config naming a config with a cluster, the edit goes to the other gateways too.
// The local map is edited first either way; a Redis that does not answer is said, exit 1.
int share(const HandEdit &e, const cluster::Event &event) {
    if (e.config.empty()) return 0;
    const policy::Config config = policy::load_config(e.config);
    if (!config.cluster.enabled()) {
        fprintf(stderr, "xdpknock: %s has no cluster: the edit stays on this gateway\n",
                e.config.c_str());
        return 0;
    }
    if (std::string why = cluster::publish_now(config.cluster, event); !why.empty()) {
        fprintf(stderr,
                "xdpknock: not sent to the cluster (Redis %s: %s): other gateways keep "
                "their entries\n",
                config.cluster.redis.c_str(), why.c_str());
        return 1;
    }
    printf("sent to the cluster as node %s\n", config.cluster.node.c_str());
    return 0;
}

using StoreEdit = std::function<int(auth::AuthorizationStore &, const policy::Address &)>;

// Runs fn on the interface's store (the pinned authorized map, or an nftables gate's sets),
// which the CLI owns only for this call. Hand-made entries carry no range or secret.
int with_store(const Globals &g, const HandEdit &e, const StoreEdit &fn) {
    auto addr = policy::parse_address(e.address);
    if (!addr) throw CLI::ValidationError("address", e.address + " is not an IPv4/IPv6 address");
    std::string path = gate::pin_dir_for(g.pin_root, e.ifname) + "/" + XK_MAP_AUTHORIZED;
    int fd = bpf_obj_get(path.c_str());
    if (fd >= 0 && nft::NftGate::present(e.ifname)) {
        close(fd);
        fprintf(stderr,
                "xdpknock: %s has both an XDP gate's pins and an nftables gate (the config's "
                "\"gate\" changed): `xdpknock detach %s` removes both\n",
                e.ifname.c_str(), e.ifname.c_str());
        return 1;
    }
    if (fd < 0 && nft::NftGate::present(e.ifname)) {
        nft::NftStore store(e.ifname);
        return fn(store, *addr);
    }
    if (fd < 0) {
        fprintf(stderr,
                "xdpknock: %s: not pinned, and no nftables gate on %s (is the gate "
                "attached?)\n",
                path.c_str(), e.ifname.c_str());
        return 1;
    }
    auth::Authorized store(fd);
    // Set the grant's bits in the gate's pre-filter too, so it passes at once, not only
    // after the daemon's next sweep learns it.
    std::string filter_path = gate::pin_dir_for(g.pin_root, e.ifname) + "/" + XK_MAP_AUTH_FILTER;
    if (int ffd = bpf_obj_get(filter_path.c_str()); ffd >= 0) {
        store.use_filter(auth::AuthFilter::open(ffd), false);
        close(ffd);
    }
    int rc = fn(store, *addr);
    close(fd);
    return rc;
}

// Whatever gates ifname comes off: its XDP program and pins, or its nftables chain and sets,
// and its NAT access either way.
int detach_one(const Globals &g, const std::string &ifname) {
    const bool nft_gate = nft::NftGate::present(ifname);
    if (nft_gate) printf("%s\n", nft::NftGate::detach(ifname).c_str());
    if (std::string nat = nft::NatAccess::detach(ifname); !nat.empty()) printf("%s\n", nat.c_str());
    std::error_code ec;
    if (!nft_gate || std::filesystem::exists(gate::pin_dir_for(g.pin_root, ifname), ec))
        printf("%s\n", gate::detach(g.pin_root, ifname).c_str());
    return 0;
}

void add_edit_flags(CLI::App *c, HandEdit &e) {
    c->add_option("address", e.address, "IPv4 or IPv6 source")->required();
    c->add_option("-i,--interface", e.ifname, "gated interface")->required();
    c->add_option("-c,--config", e.config,
                  "xdpknockd's config: with a \"cluster\", tell the other gateways too");
}

}  // namespace

void add_status(CLI::App &app, Globals &g) {
    static bool as_json = false;
    static std::string run_dir = "/run/xdpknock";
    auto *c = app.add_subcommand("status", "show attached gates, counters, authorizations");
    c->add_flag("--json", as_json, "JSON output");
    c->add_option("--run-dir", run_dir, "xdpknockd's run folder (stats.json)");
    c->callback([&g] { g.rc = guarded([&] { return run_status(g.pin_root, run_dir, as_json); }); });
}

void add_allow(CLI::App &app, Globals &g) {
    static HandEdit e;
    auto *c = app.add_subcommand("allow", "authorize an address by hand");
    add_edit_flags(c, e);
    c->add_option("--port", e.port, "tcp/PORT, udp/PORT or * (all protected ports)");
    c->add_option("-t,--timeout", e.timeout, "seconds")->check(CLI::Range(1u, 86400u));
    c->callback([&g] {
        g.rc = guarded([&] {
            return with_store(g, e, [](auth::AuthorizationStore &s, const policy::Address &a) {
                policy::PortRef ref = policy::parse_port_ref(e.port);
                if (int err = s.grant(a, {&ref, 1}, e.timeout, UINT32_MAX, UINT32_MAX)) {
                    fprintf(stderr, "xdpknock: %s: the grant was refused: %s\n", e.ifname.c_str(),
                            strerror(-err));
                    return 1;
                }
                printf("authorized %s for %s for %us\n", e.address.c_str(),
                       policy::format_port(ref).c_str(), e.timeout);
                return share(e, cluster::grant_event(a, {&ref, 1}, e.timeout, wall_us()));
            });
        });
    });
}

void add_revoke(CLI::App &app, Globals &g) {
    static HandEdit e;
    auto *c = app.add_subcommand("revoke", "remove every authorization of an address");
    add_edit_flags(c, e);
    c->callback([&g] {
        g.rc = guarded([&] {
            return with_store(g, e, [](auth::AuthorizationStore &s, const policy::Address &a) {
                printf("revoked %zu authorization(s) of %s\n", s.revoke(a), e.address.c_str());
                if (size_t n = nft::NatAccess::unmap_source(e.ifname, a))
                    printf("ended %zu NAT mapping(s) of %s\n", n, e.address.c_str());
                return share(e, cluster::revoke_event(a, wall_us()));
            });
        });
    });
}

// The one way a gate comes off (a stopped or crashed daemon leaves it closed).
void add_detach(CLI::App &app, Globals &g) {
    static std::vector<std::string> ifnames;
    static bool all = false;
    auto *c = app.add_subcommand(
        "detach", "remove the gate from interfaces and unpin its maps (opens what it guarded)");
    c->add_option("interfaces", ifnames, "gated interfaces");
    c->add_flag("--all", all, "every gate pinned under --pin-root");
    c->callback([&g] {
        std::error_code ec;
        for (const auto &d : std::filesystem::directory_iterator(g.pin_root, ec)) {
            if (all && d.is_directory()) ifnames.push_back(d.path().filename());
        }
        for (const auto &ifname : all ? nft::NftGate::gated_interfaces() : ifnames)
            if (std::find(ifnames.begin(), ifnames.end(), ifname) == ifnames.end())
                ifnames.push_back(ifname);
        if (ifnames.empty()) {
            fprintf(stderr, "xdpknock: name an interface or --all (no gate found)\n");
            g.rc = all ? 0 : 2;
            return;
        }
        for (const auto &ifname : ifnames) g.rc |= guarded([&] { return detach_one(g, ifname); });
    });
}

}  // namespace xk::cli
