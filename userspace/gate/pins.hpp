#pragma once
// The gate's maps pinned in bpffs: reused across restarts (authorizations and flows
// survive), replaced only on a proven incompatibility (an upgrade that grew a map, a new
// size), and then with their entries carried over: converted when the value grew (new
// fields, appended at the end, start at 0), dropped only when that cannot be done, and
// then said, with why.

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
struct PinChange {
    std::string line;   // "<map>: the pinned map had another shape (...); replaced: ..."
    bool lost = false;  // entries were dropped: a warning, not news
};
// After a successful load: carries what it can from each replaced map into the new one,
// then pins the new one in its place. One change per replaced map, for the log.
std::vector<PinChange> finish_pins(const PinPlan &plan);
// Removes every pin in dir, and dir itself.
void remove_pins(const std::string &dir);

}  // namespace xk::gate
