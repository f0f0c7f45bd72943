#pragma once
// xdpknock's commands as a table (xdp-tools' cmds[]): each command file adds its
// subcommand and flags and sets the callback that runs it. main() only parses.

#include <CLI/CLI.hpp>
#include <functional>
#include <span>
#include <string>

namespace xk::cli {

struct Globals {
    std::string pin_root;  // --pin-root, default XK_PIN_ROOT
    int rc = 0;            // the command's exit code
};

using AddCommand = void (*)(CLI::App &app, Globals &g);
std::span<const AddCommand> commands();

// Runs a command's body: a ConfigError exits 2, another error 1, each said on stderr;
// CLI11's own errors go back to the parser.
int guarded(const std::function<int()> &body);

void add_send(CLI::App &app, Globals &g);
void add_decode(CLI::App &app, Globals &g);
void add_keygen(CLI::App &app, Globals &g);
void add_status(CLI::App &app, Globals &g);
void add_allow(CLI::App &app, Globals &g);
void add_revoke(CLI::App &app, Globals &g);
void add_detach(CLI::App &app, Globals &g);
void add_check_config(CLI::App &app, Globals &g);
void add_import_fwknop(CLI::App &app, Globals &g);
void add_import_knockd(CLI::App &app, Globals &g);
void add_reload(CLI::App &app, Globals &g);
void add_agent(CLI::App &app, Globals &g);

}  // namespace xk::cli
