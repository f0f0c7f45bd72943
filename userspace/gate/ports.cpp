#include "gate/ports.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "gate/gate.hpp"
#include "xdpknock/maps.h"

namespace xk::gate {

void write_ports(int ports_fd, const policy::Config &config) {
    std::vector<xk_port> table(65536);
    for (const auto &r : config.ranges) table[r.port].flags |= XK_PORT_KNOCK_UDP;
    for (const auto &s : config.services) table[s.port.port].flags |= XK_PORT_PROTECT_TCP;
    std::vector<uint32_t> keys(table.size());
    for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = i;
    uint32_t count = static_cast<uint32_t>(keys.size());
    if (bpf_map_update_batch(ports_fd, keys.data(), table.data(), &count, nullptr) == 0) return;
    for (uint32_t i = 0; i < keys.size(); ++i) {  // kernels without batch ops
        if (bpf_map_update_elem(ports_fd, &i, &table[i], BPF_ANY) != 0) {
            throw GateError(std::string("cannot write the ports map: ") + std::strerror(errno));
        }
    }
}

}  // namespace xk::gate
