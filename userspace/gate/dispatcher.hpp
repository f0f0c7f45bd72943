#pragma once
// libxdp: what runs on an interface, whether its multi-program dispatcher works on this
// kernel, and adding or removing the gate's program there. Everything that calls libxdp.

#include <cstdint>

#include "gate/attach_plan.hpp"

struct bpf_object;

namespace xk::gate {

// libbpf's and libxdp's messages through the project's log (warnings as warnings, the rest
// at debug). Idempotent.
void route_library_logs();

// What runs on ifindex, read through libxdp (a dispatcher lists its programs). When libxdp
// cannot read it, the main program alone, so it is never mistaken for nothing or for ours.
OnInterface on_interface(int ifindex);

// libxdp's own compatibility check, done the same way (it is not exported): load its
// xdp_pass, load a second copy as BPF_PROG_TYPE_EXT replacing it, attach that. Once per
// process. LIBXDP_SKIP_DISPATCHER=1 says no, as it does to libxdp.
const Multiprog &multiprog();

// Adds the program of obj (opened, not loaded: libxdp loads it as the dispatcher's
// freplace) with kRunPriority and XDP_PASS as its only chain-call action; creates the
// dispatcher if there is none. 0 or -errno. The dispatcher's pins keep it after we exit.
int dispatcher_add(bpf_object *obj, int ifindex, bool generic);
// Takes program prog_id out of the dispatcher on ifindex, leaving the others running.
int dispatcher_remove(int ifindex, uint32_t prog_id);

}  // namespace xk::gate
