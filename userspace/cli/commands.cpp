#include "cli/commands.hpp"

#include <cstdio>

#include "policy/config.hpp"

namespace xk::cli {

std::span<const AddCommand> commands() {
    static constexpr AddCommand kCommands[] = {
        add_send,   add_decode,       add_keygen,        add_status,        add_allow,  add_revoke,
        add_detach, add_check_config, add_import_fwknop, add_import_knockd, add_reload, add_agent,
    };
    return kCommands;
}

int guarded(const std::function<int()> &body) {
    try {
        return body();
    } catch (const CLI::Error &) {
        throw;
    } catch (const policy::ConfigError &e) {
        fprintf(stderr, "xdpknock: %s\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        fprintf(stderr, "xdpknock: %s\n", e.what());
        return 1;
    }
}

}  // namespace xk::cli
