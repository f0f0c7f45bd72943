// xdpknock agent: knock on demand for outgoing connections (userspace/agent).
#include "agent/agent.hpp"
#include "cli/commands.hpp"
#include "log/log.hpp"

namespace xk::cli {

void add_agent(CLI::App &app, Globals &g) {
    static agent::AgentOptions o;
    static bool verbose = false;
    auto *c = app.add_subcommand("agent",
                                 "knock on demand: hold a SYN to a remote service, knock, "
                                 "let it go (TC egress)");
    c->add_option("-c,--config", o.config_path, "agent config (JSON, mode 0600: it holds keys)")
        ->required();
    c->add_option("-i,--interface", o.interfaces,
                  "outgoing interface (repeat; default: those with a default route)");
    c->add_option("--rc-file", o.rc_file,
                  "the remotes' \"fwknoprc\" stanzas (default ~/.fwknoprc)");
    c->add_flag("-v,--verbose", verbose, "debug log");
    c->callback([&g] {
        if (verbose) log::set_level(log::Level::debug);
        g.rc = guarded([] { return agent::run_agent(o); });
    });
}

}  // namespace xk::cli
