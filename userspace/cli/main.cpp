// xdpknock: the operator's tool — send knocks, inspect and edit the gate, check configs.
#include <bpf/bpf.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "auth/authorized.hpp"
#include "cli/send.hpp"
#include "cli/status.hpp"
#include "gate/gate.hpp"
#include "policy/config.hpp"
#include "spa/base64.hpp"
#include "xdpknock/maps.h"

namespace {

int open_authorized(const std::string &pin_root, const std::string &ifname) {
    std::string path = xk::gate::pin_dir_for(pin_root, ifname) + "/authorized";
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) fprintf(stderr, "xdpknock: %s: not pinned (is the gate attached?)\n", path.c_str());
    return fd;
}

xk::policy::Address parse_or_die(const std::string &text) {
    auto a = xk::policy::parse_address(text);
    if (!a) throw CLI::ValidationError("address", text + " is not an IPv4 or IPv6 address");
    return *a;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"xdpknock: knock, inspect and manage an xdpknock gateway"};
    app.require_subcommand(1);
    std::string pin_root = XK_PIN_ROOT;
    app.add_option("--pin-root", pin_root, "bpffs folder of the pinned maps");

    // send
    auto *send = app.add_subcommand("send", "send a knock");
    std::string host, secret, secret_b64, method = "plain";
    uint16_t port = 62201;
    send->add_option("host", host, "gateway address or name")->required();
    send->add_option("-p,--port", port, "UDP knock port");
    send->add_option("-m,--method", method, "knock method")->check(CLI::IsMember({"plain"}));
    auto *s_opt = send->add_option("--secret", secret, "plain secret (text)");
    send->add_option("--secret-base64", secret_b64, "plain secret (base64 bytes)")->excludes(s_opt);

    // status
    auto *status = app.add_subcommand("status", "show attached gates, counters, authorizations");
    bool as_json = false;
    std::string run_dir = "/run/xdpknock";
    status->add_flag("--json", as_json, "JSON output");
    status->add_option("--run-dir", run_dir, "xdpknockd's run folder (stats.json)");

    // allow / revoke
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

    // check-config
    auto *check = app.add_subcommand("check-config", "validate a config file");
    std::string config_path;
    check->add_option("config", config_path, "JSON config file")->required();

    CLI11_PARSE(app, argc, argv);

    try {
        if (*send) {
            std::vector<uint8_t> payload(secret.begin(), secret.end());
            if (!secret_b64.empty()) {
                payload.resize(xk::spa::b64_decoded_max(secret_b64.size()) + 3);
                size_t n = 0;
                if (!xk::spa::b64_decode(secret_b64, payload, n)) {
                    fprintf(stderr, "xdpknock: --secret-base64 is not base64\n");
                    return 2;
                }
                payload.resize(n);
            }
            if (payload.empty()) {
                fprintf(stderr, "xdpknock: give --secret or --secret-base64\n");
                return 2;
            }
            std::string error;
            if (xk::cli::send_knock(host, port, payload, error) != 0) {
                fprintf(stderr, "xdpknock: %s\n", error.c_str());
                return 1;
            }
            return 0;
        }
        if (*status) return xk::cli::run_status(pin_root, run_dir, as_json);
        if (*allow || *revoke) {
            auto addr = parse_or_die(addr_text);
            int fd = open_authorized(pin_root, ifname);
            if (fd < 0) return 1;
            xk::auth::Authorized map(fd);
            if (*revoke) {
                printf("revoked %zu authorization(s) of %s\n", map.revoke(addr), addr_text.c_str());
            } else {
                xk::policy::PortRef ref = xk::policy::parse_port_ref(port_text);
                int err = map.grant(addr, {&ref, 1}, timeout, UINT32_MAX, UINT32_MAX);
                if (err) {
                    fprintf(stderr, "xdpknock: map write failed: %s\n", strerror(-err));
                    return 1;
                }
                printf("authorized %s for %s for %us\n", addr_text.c_str(),
                       xk::policy::format_port(ref).c_str(), timeout);
            }
            close(fd);
            return 0;
        }
        if (*check) {
            auto c = xk::policy::load_config(config_path);
            printf("%s: ok — %zu interface(s), %zu range(s), %zu protected service(s)\n",
                   config_path.c_str(), c.interfaces.size(), c.ranges.size(), c.services.size());
            return 0;
        }
    } catch (const xk::policy::ConfigError &e) {
        fprintf(stderr, "xdpknock: %s\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        fprintf(stderr, "xdpknock: %s\n", e.what());
        return 1;
    }
    return 0;
}
