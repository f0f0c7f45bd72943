// xdpknock send | decode | keygen: knocks and keys (the work is in send.cpp, decode.cpp,
// keygen.cpp).
#include "cli/commands.hpp"
#include "cli/decode.hpp"
#include "cli/keygen.hpp"
#include "cli/send.hpp"

namespace xk::cli {

void add_send(CLI::App &app, Globals &g) {
    static SendFlags flags;
    auto *c = app.add_subcommand("send", "send a knock (plain or fko)");
    flags.add_to(*c);
    c->callback([&g] { g.rc = guarded([] { return run_send(flags); }); });
}

void add_decode(CLI::App &app, Globals &g) {
    static struct {
        FkoKeyFlags keys;
        std::vector<std::string> packets;
        bool no_time_check = false;
        int proof_time = 120;
    } f;
    auto *c = app.add_subcommand("decode", "decode fko packets (arguments or stdin lines)");
    f.keys.add_to(*c);
    c->add_option("packets", f.packets, "packets; none: one per line on stdin");
    c->add_flag("--no-time-check", f.no_time_check, "do not judge the timestamp (old captures)");
    c->add_option("--proof-time", f.proof_time, "allowed |now - timestamp|, seconds");
    c->callback([&g] {
        g.rc = guarded(
            [] { return run_decode(f.keys.secrets(), f.packets, !f.no_time_check, f.proof_time); });
    });
}

void add_keygen(CLI::App &app, Globals &g) {
    static std::string label = "new", hmac_type = "sha256";
    auto *c = app.add_subcommand("keygen", "make fko keys");
    c->add_option("--label", label, "the secret's label");
    c->add_option("--hmac-digest-type", hmac_type, "HMAC type");
    c->callback([&g] { g.rc = guarded([] { return run_keygen(label, hmac_type); }); });
}

}  // namespace xk::cli
