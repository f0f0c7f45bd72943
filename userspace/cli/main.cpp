// xdpknock: the operator's tool — send knocks, decode them, inspect and edit the gate,
// check configs, make keys. One file per command (cli/cmd_*.cpp), listed in commands.cpp.
#include "cli/commands.hpp"
#include "log/core_dumps.hpp"
#include "xdpknock/maps.h"
#include "xdpknock/version.h"

int main(int argc, char **argv) {
    xk::forbid_core_dumps();  // send, keygen and the agent hold keys
    CLI::App app{"xdpknock: knock, decode, inspect and manage an xdpknock gateway"};
    app.require_subcommand(1);
    app.set_version_flag("--version", XK_VERSION_LINE, "print the version and commit, then exit");
    xk::cli::Globals g{XK_PIN_ROOT};
    app.add_option("--pin-root", g.pin_root, "bpffs folder of the pinned maps");
    for (auto add : xk::cli::commands()) add(app, g);
    CLI11_PARSE(app, argc, argv);
    return g.rc;
}
