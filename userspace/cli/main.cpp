// xdpknock: the operator's tool — send knocks, decode them, inspect and edit the gate,
// check configs, make keys.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "auth/authorized.hpp"
#include "cli/decode.hpp"
#include "cli/import_fwknop.hpp"
#include "cli/keygen.hpp"
#include "cli/send.hpp"
#include "cli/status.hpp"
#include "gate/gate.hpp"
#include "policy/config.hpp"
#include "xdpknock/maps.h"

namespace {

// allow / revoke: edit the authorized map of one gated interface by hand.
int edit_authorized(const std::string &pin_root, const std::string &ifname,
                    const std::string &addr_text, bool revoke, const std::string &port_text,
                    uint32_t timeout) {
    auto addr = xk::policy::parse_address(addr_text);
    if (!addr) throw CLI::ValidationError("address", addr_text + " is not an IPv4/IPv6 address");
    std::string path = xk::gate::pin_dir_for(pin_root, ifname) + "/authorized";
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
        fprintf(stderr, "xdpknock: %s: not pinned (is the gate attached?)\n", path.c_str());
        return 1;
    }
    xk::auth::Authorized map(fd);
    int rc = 0;
    if (revoke) {
        printf("revoked %zu authorization(s) of %s\n", map.revoke(*addr), addr_text.c_str());
    } else {
        xk::policy::PortRef ref = xk::policy::parse_port_ref(port_text);
        // Hand-made entries carry no range or secret.
        if (int err = map.grant(*addr, {&ref, 1}, timeout, UINT32_MAX, UINT32_MAX)) {
            fprintf(stderr, "xdpknock: map write failed: %s\n", strerror(-err));
            rc = 1;
        } else {
            printf("authorized %s for %s for %us\n", addr_text.c_str(),
                   xk::policy::format_port(ref).c_str(), timeout);
        }
    }
    close(fd);
    return rc;
}

// detach: the one way a gate comes off (a stopped or crashed daemon leaves it closed).
int detach_gates(const std::string &pin_root, std::vector<std::string> ifnames, bool all) {
    if (all) {
        std::error_code ec;
        for (const auto &e : std::filesystem::directory_iterator(
                 pin_root.empty() ? std::string(XK_PIN_ROOT) : pin_root, ec)) {
            if (e.is_directory()) ifnames.push_back(e.path().filename());
        }
    }
    if (ifnames.empty()) {
        fprintf(stderr, "xdpknock: name an interface or --all (no gate found)\n");
        return all ? 0 : 2;
    }
    int rc = 0;
    for (const auto &ifname : ifnames) {
        try {
            printf("%s\n", xk::gate::detach(pin_root, ifname).c_str());
        } catch (const xk::gate::GateError &e) {
            fprintf(stderr, "xdpknock: %s\n", e.what());
            rc = 1;
        }
    }
    return rc;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"xdpknock: knock, decode, inspect and manage an xdpknock gateway"};
    app.require_subcommand(1);
    std::string pin_root = XK_PIN_ROOT;
    app.add_option("--pin-root", pin_root, "bpffs folder of the pinned maps");

    auto *send = app.add_subcommand("send", "send a knock (plain or fko)");
    xk::cli::SendFlags send_flags;
    send_flags.add_to(*send);

    auto *decode = app.add_subcommand("decode", "decode fko packets (arguments or stdin lines)");
    xk::cli::FkoKeyFlags decode_keys;
    decode_keys.add_to(*decode);
    std::vector<std::string> packets;
    bool no_time_check = false;
    int proof_time = 120;
    decode->add_option("packets", packets, "packets; none: one per line on stdin");
    decode->add_flag("--no-time-check", no_time_check, "do not judge the timestamp (old captures)");
    decode->add_option("--proof-time", proof_time, "allowed |now - timestamp|, seconds");

    auto *keygen = app.add_subcommand("keygen", "make fko keys");
    std::string label = "new", hmac_type = "sha256";
    keygen->add_option("--label", label, "the secret's label");
    keygen->add_option("--hmac-digest-type", hmac_type, "HMAC type");

    auto *status = app.add_subcommand("status", "show attached gates, counters, authorizations");
    bool as_json = false;
    std::string run_dir = "/run/xdpknock";
    status->add_flag("--json", as_json, "JSON output");
    status->add_option("--run-dir", run_dir, "xdpknockd's run folder (stats.json)");

    auto *allow = app.add_subcommand("allow", "authorize an address by hand");
    auto *revoke = app.add_subcommand("revoke", "remove every authorization of an address");
    std::string ifname, addr_text, port_text = "*";
    uint32_t timeout = 30;
    for (auto *c : {allow, revoke}) {
        c->add_option("address", addr_text, "IPv4 or IPv6 source")->required();
        c->add_option("-i,--interface", ifname, "gated interface")->required();
    }
    allow->add_option("--port", port_text, "tcp/PORT or * (all protected ports)");
    allow->add_option("-t,--timeout", timeout, "seconds")->check(CLI::Range(1u, 86400u));

    auto *detach = app.add_subcommand(
        "detach", "remove the gate from interfaces and unpin its maps (opens what it guarded)");
    std::vector<std::string> detach_ifaces;
    bool detach_all = false;
    detach->add_option("interfaces", detach_ifaces, "gated interfaces");
    detach->add_flag("--all", detach_all, "every gate pinned under --pin-root");

    auto *check = app.add_subcommand("check-config", "validate a config file");
    std::string config_path;
    check->add_option("config", config_path, "JSON config file")->required();

    auto *import = app.add_subcommand("import-fwknop", "turn a fwknopd access.conf into a config");
    std::string access_path, fwknopd_conf_path, import_iface, import_out;
    import->add_option("access_conf", access_path, "fwknopd access.conf")
        ->required()
        ->check(CLI::ExistingFile);
    import
        ->add_option("--fwknopd-conf", fwknopd_conf_path,
                     "fwknopd.conf (port, interface, packet age)")
        ->check(CLI::ExistingFile);
    import->add_option("-i,--interface", import_iface, "interface to gate (default PCAP_INTF)");
    import->add_option("-o,--output", import_out,
                       "write the config here, mode 0600 (default stdout)");

    CLI11_PARSE(app, argc, argv);

    try {
        if (*send) return xk::cli::run_send(send_flags);
        if (*decode) {
            return xk::cli::run_decode(decode_keys.secrets(), packets, !no_time_check, proof_time);
        }
        if (*keygen) return xk::cli::run_keygen(label, hmac_type);
        if (*import) {
            auto slurp = [](const std::string &path) {
                std::ifstream in(path);
                return std::string(std::istreambuf_iterator<char>(in), {});
            };
            auto r = xk::cli::import_fwknop(
                slurp(access_path), fwknopd_conf_path.empty() ? "" : slurp(fwknopd_conf_path),
                import_iface);
            for (const auto &w : r.warnings) fprintf(stderr, "xdpknock: %s\n", w.c_str());
            std::string text = r.config.dump(2) + "\n";
            xk::policy::parse_config(text);  // what we print must load
            if (import_out.empty()) {
                fputs(text.c_str(), stdout);
                return 0;
            }
            // The keys move with it: a fresh private file (never an existing one's mode, never
            // through a symlink), renamed over the target.
            std::string tmp = import_out + ".tmp";
            unlink(tmp.c_str());
            int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0 || fchmod(fd, 0600) != 0 ||
                write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
                fsync(fd) != 0 || rename(tmp.c_str(), import_out.c_str()) != 0) {
                fprintf(stderr, "xdpknock: %s: %s\n", import_out.c_str(), strerror(errno));
                if (fd >= 0) close(fd);
                unlink(tmp.c_str());
                return 1;
            }
            close(fd);
            return 0;
        }
        if (*status) return xk::cli::run_status(pin_root, run_dir, as_json);
        if (*allow || *revoke) {
            return edit_authorized(pin_root, ifname, addr_text, revoke->parsed(), port_text,
                                   timeout);
        }
        if (*detach) return detach_gates(pin_root, detach_ifaces, detach_all);
        if (*check) {
            auto c = xk::policy::load_config(config_path);
            printf("%s: ok — %zu interface(s), %zu range(s), %zu protected service(s)\n",
                   config_path.c_str(), c.interfaces.size(), c.ranges.size(), c.services.size());
            return 0;
        }
    } catch (const CLI::Error &e) {
        return app.exit(e);
    } catch (const xk::policy::ConfigError &e) {
        fprintf(stderr, "xdpknock: %s\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        fprintf(stderr, "xdpknock: %s\n", e.what());
        return 1;
    }
    return 0;
}
