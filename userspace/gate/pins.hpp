#pragma once
// The gate's maps pinned in bpffs: reused across restarts (authorizations and flows
// survive), replaced only on a proven incompatibility, and then with their entries copied.

#include <string>
#include <vector>

struct bpf_object;
struct bpf_map;

namespace xk::gate {

struct PinPlan {
    std::string dir;
    std::vector<bpf_map *> replace;  // pinned under the same name, but of another shape
};

// Before load: each map reuses its pin (LIBBPF_PIN_BY_NAME) when the pinned map has the
// same shape; a map whose pin differs is loaded fresh and listed in the plan. Nothing is
// removed here, so a load that fails (verifier, memory) leaves the old gate reachable.
PinPlan plan_pins(bpf_object *obj, const std::string &dir);
// After a successful load: copies what it can from each replaced map, then pins the new
// one in its place. Returns a line for the log per replaced map.
std::vector<std::string> finish_pins(const PinPlan &plan);
// Removes every pin in dir, and dir itself.
void remove_pins(const std::string &dir);

}  // namespace xk::gate
