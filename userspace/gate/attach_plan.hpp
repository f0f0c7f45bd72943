#pragma once
// What the gate does on an interface, given what XDP already runs there: pure, so every
// case is unit-tested (tests/unit/gate/attach_plan_test.cpp) without a kernel.

#include <cstdint>
#include <string>
#include <vector>

#include "policy/config.hpp"

namespace xk::gate {

// The BPF program name of our gate (SEC("xdp") int xdpknock).
inline constexpr const char *kOurProgram = "xdpknock";
// Where the gate sits in libxdp's dispatcher: after filters at libxdp's default priority
// (50; xdp-filter uses 10), so their drops come first. Our XDP_PASS goes on down the chain;
// our XDP_DROP and the knocks' XDP_REDIRECT end it.
inline constexpr unsigned kRunPriority = 100;

struct XdpProgram {
    std::string name;
    uint32_t id = 0;
};

// The interface as libxdp sees it: nothing, one program alone, or its dispatcher.
struct OnInterface {
    enum class Kind { none, single, dispatcher };
    Kind kind = Kind::none;
    XdpProgram main;                     // the program alone, or the dispatcher itself
    std::vector<XdpProgram> components;  // in the dispatcher, in run order
    bool generic = false;                // XDP_ATTACHED_SKB
};

// Whether libxdp's dispatcher can run here; why not, for the log and errors.
struct Multiprog {
    bool supported = false;
    std::string why_not;
};

struct AttachPlan {
    enum class Step {
        refuse,              // another tool's program: attach nothing (why = the error)
        single,              // nothing there, no dispatcher: attach alone (why = log line)
        replace_single,      // our earlier program alone: replace it atomically, same path
        dispatcher_new,      // nothing there: a new dispatcher with the gate in it
        dispatcher_join,     // another tool's dispatcher: add the gate to it
        dispatcher_replace,  // ours already in the dispatcher: add the new, then drop `old`
    };
    Step step = Step::refuse;
    std::string why;
    std::vector<uint32_t> old;  // our earlier programs' ids in the dispatcher
    bool generic = false;       // joining: the dispatcher's mode (the kernel allows one)
};

bool is_ours(const XdpProgram &p);
// "'a' (id 1), 'b' (id 2)": the programs as the errors and logs name them.
std::string describe(const std::vector<XdpProgram> &programs);

AttachPlan plan_attach(const std::string &ifname, const OnInterface &now, const Multiprog &mp,
                       policy::XdpMode mode);

}  // namespace xk::gate
