#include "gate/attach_plan.hpp"

namespace xk::gate {
namespace {

using Step = AttachPlan::Step;

std::string named(const XdpProgram &p) {
    return "'" + p.name + "' (id " + std::to_string(p.id) + ")";
}

AttachPlan refuse(std::string why) {
    return {Step::refuse, std::move(why), {}, false};
}

AttachPlan plan_single(const std::string &ifname, const OnInterface &now, const Multiprog &mp) {
    if (is_ours(now.main)) {
        // Atomic in place (bpf_xdp_attach replaces it): a dispatcher would first need the
        // old one detached, and the interface would run ungated in between.
        std::string why = mp.supported ? ifname +
                                             ": our earlier program runs alone: replaced in "
                                             "place; `xdpknock detach " +
                                             ifname +
                                             "` and a start move the gate into libxdp's "
                                             "dispatcher"
                                       : "";
        return {Step::replace_single, why, {}, now.generic};
    }
    std::string what = ifname + ": XDP program " + named(now.main) +
                       " is attached by another tool; xdpknock will not replace it — ";
    if (mp.supported) {
        return refuse(what +
                      "load it through libxdp's dispatcher (xdp-loader, or its tool's libxdp "
                      "loader) so both can run, or unload it");
    }
    return refuse(what + "this kernel cannot run two XDP programs on one interface (" + mp.why_not +
                  "): unload it first if xdpknock is to gate " + ifname);
}

AttachPlan plan_dispatcher(const std::string &ifname, const OnInterface &now, const Multiprog &mp,
                           policy::XdpMode mode) {
    if (!mp.supported) {
        return refuse(ifname + ": libxdp's dispatcher " + named(now.main) + " runs " +
                      describe(now.components) + ", but the gate cannot join it here (" +
                      mp.why_not + "); xdpknock will not replace it");
    }
    const bool wants_native = mode == policy::XdpMode::native;
    const bool wants_generic = mode == policy::XdpMode::generic;
    if ((wants_native && now.generic) || (wants_generic && !now.generic)) {
        return refuse(ifname + ": libxdp's dispatcher runs in " +
                      (now.generic ? "generic" : "native") + " mode, xdp_mode \"" +
                      (wants_native ? "native" : "generic") +
                      "\" cannot join it (one XDP mode per interface): use \"auto\"");
    }
    AttachPlan plan{Step::dispatcher_join, "", {}, now.generic};
    for (const auto &c : now.components) {
        if (is_ours(c)) plan.old.push_back(c.id);
    }
    if (!plan.old.empty()) plan.step = Step::dispatcher_replace;
    return plan;
}

}  // namespace

bool is_ours(const XdpProgram &p) {
    return p.name == kOurProgram;
}

std::string describe(const std::vector<XdpProgram> &programs) {
    if (programs.empty()) return "no program";
    std::string out;
    for (const auto &p : programs) out += (out.empty() ? "" : ", ") + named(p);
    return out;
}

AttachPlan plan_attach(const std::string &ifname, const OnInterface &now, const Multiprog &mp,
                       policy::XdpMode mode) {
    switch (now.kind) {
        case OnInterface::Kind::none:
            if (mp.supported)
                return {Step::dispatcher_new, "", {}, mode == policy::XdpMode::generic};
            return {Step::single,
                    ifname + ": libxdp's multi-program dispatcher is not available (" + mp.why_not +
                        "); attaching alone: no other XDP program can run beside "
                        "the gate on " +
                        ifname,
                    {},
                    false};
        case OnInterface::Kind::single:
            return plan_single(ifname, now, mp);
        case OnInterface::Kind::dispatcher:
            return plan_dispatcher(ifname, now, mp, mode);
    }
    return refuse(ifname + ": unknown XDP state");
}

}  // namespace xk::gate
