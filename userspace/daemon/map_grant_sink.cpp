#include "daemon/map_grant_sink.hpp"

#include <cstring>
#include <string>

#include "log/log.hpp"

namespace xk::daemon {

void MapGrantSink::grant(const policy::Knock &knock, const policy::Decision &d) {
    int err = authorized_.grant(knock.source, d.grant(), d.timeout_s, d.range_id, d.secret_id);
    const policy::Range &range = config_.ranges[d.range_id];
    std::string ports;
    for (const auto &p : d.grant()) ports += (ports.empty() ? "" : ",") + policy::format_port(p);
    if (err) {
        XK_ERROR("%s: knock from %s accepted by range %s but the map write failed: %s",
                 ifname_.c_str(), policy::format_address(knock.source).c_str(), range.name.c_str(),
                 std::strerror(-err));
        return;
    }
    std::string user;  // appended, not concatenated: GCC 12 -O3 flags operator+ here (-Wrestrict)
    if (d.fko) user.append(", user ").append(d.fko->user.view());
    XK_INFO("%s: authorized %s for %s for %us (range %s, secret %s%s)", ifname_.c_str(),
            policy::format_address(knock.source).c_str(), ports.c_str(), d.timeout_s,
            range.name.c_str(), range.secrets[d.secret_id].label.c_str(), user.c_str());
}

}  // namespace xk::daemon
