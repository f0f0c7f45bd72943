// The attach decision, pure: what runs on the interface and whether libxdp's dispatcher
// works here -> what the gate does. Every branch, without a kernel.
#include "gate/attach_plan.hpp"

#include <gtest/gtest.h>

namespace xk::gate {
namespace {

using Kind = OnInterface::Kind;
using Step = AttachPlan::Step;
using policy::XdpMode;

const Multiprog kNoDispatcher{false, "the kernel refused a freplace program: EPERM"};
const Multiprog kDispatcher{true, ""};

OnInterface nothing() {
    return {};
}
OnInterface alone(const std::string &name, uint32_t id, bool generic = false) {
    return {Kind::single, {name, id}, {}, generic};
}
OnInterface dispatcher(std::vector<XdpProgram> programs, bool generic = false) {
    return {Kind::dispatcher, {"xdp_dispatcher", 7}, std::move(programs), generic};
}

TEST(AttachPlan, NothingThereAndNoDispatcherAttachesAloneSayingWhy) {
    AttachPlan p = plan_attach("gw-out", nothing(), kNoDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::single);
    EXPECT_EQ(p.why,
              "gw-out: libxdp's multi-program dispatcher is not available (the kernel refused a "
              "freplace program: EPERM); attaching alone: no other XDP program can run beside "
              "the gate on gw-out");
}

TEST(AttachPlan, NothingThereWithADispatcherStartsOneInTheAskedMode) {
    AttachPlan p = plan_attach("gw-out", nothing(), kDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::dispatcher_new);
    EXPECT_FALSE(p.generic);  // auto tries native first, as alone
    EXPECT_TRUE(p.old.empty());
    EXPECT_TRUE(plan_attach("gw-out", nothing(), kDispatcher, XdpMode::generic).generic);
    EXPECT_FALSE(plan_attach("gw-out", nothing(), kDispatcher, XdpMode::native).generic);
}

TEST(AttachPlan, OurEarlierProgramAloneIsReplacedInPlace) {
    AttachPlan p =
        plan_attach("gw-out", alone("xdpknock", 3, true), kNoDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::replace_single);
    EXPECT_TRUE(p.why.empty());  // today's restart: nothing to say
    EXPECT_TRUE(p.generic);
    // Even where the dispatcher works: moving there would leave the link ungated a moment.
    p = plan_attach("gw-out", alone("xdpknock", 3), kDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::replace_single);
    EXPECT_NE(p.why.find("`xdpknock detach gw-out` and a start move the gate into libxdp's "
                         "dispatcher"),
              std::string::npos)
        << p.why;
}

TEST(AttachPlan, AnotherToolsProgramAloneIsRefusedByNameWithoutADispatcher) {
    AttachPlan p =
        plan_attach("gw-out", alone("xdpfilt_alw_all", 42), kNoDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::refuse);
    EXPECT_EQ(p.why,
              "gw-out: XDP program 'xdpfilt_alw_all' (id 42) is attached by another tool; "
              "xdpknock will not replace it — this kernel cannot run two XDP programs on one "
              "interface (the kernel refused a freplace program: EPERM): unload it first if "
              "xdpknock is to gate gw-out");
}

TEST(AttachPlan, AnotherToolsProgramAloneIsRefusedEvenWhereTheDispatcherWorks) {
    // It is not in a dispatcher: joining would mean replacing it.
    AttachPlan p = plan_attach("gw-out", alone("crowdsec_xdp", 9), kDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::refuse);
    EXPECT_EQ(p.why.rfind("gw-out: XDP program 'crowdsec_xdp' (id 9) is attached by another "
                          "tool; xdpknock will not replace it — load it through libxdp's "
                          "dispatcher",
                          0),
              0u)
        << p.why;
}

TEST(AttachPlan, OnlyTheExactNameIsOurs) {
    // Unreadable ("?") or merely similar names are another tool's: never replaced.
    for (const char *name : {"?", "xdpknock2", "xdpknoc", "XDPKNOCK", ""}) {
        AttachPlan p = plan_attach("eth0", alone(name, 5), kNoDispatcher, XdpMode::automatic);
        EXPECT_EQ(p.step, Step::refuse) << name;
    }
    EXPECT_TRUE(is_ours({"xdpknock", 1}));
}

TEST(AttachPlan, ADispatcherOfOtherToolsIsJoinedInItsMode) {
    AttachPlan p = plan_attach("gw-out", dispatcher({{"xdpfilt_alw_all", 11}}, true), kDispatcher,
                               XdpMode::automatic);
    EXPECT_EQ(p.step, Step::dispatcher_join);
    EXPECT_TRUE(p.generic);  // the kernel allows one mode per interface
    EXPECT_TRUE(p.old.empty());
}

TEST(AttachPlan, OurEarlierProgramInTheDispatcherIsReplacedAfterTheNewJoins) {
    AttachPlan p = plan_attach(
        "gw-out", dispatcher({{"xdpfilt_alw_all", 11}, {"xdpknock", 12}, {"xdpknock", 13}}),
        kDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::dispatcher_replace);
    EXPECT_EQ(p.old, (std::vector<uint32_t>{12, 13}));  // never 11
    EXPECT_FALSE(p.generic);
}

TEST(AttachPlan, ADispatcherThisProcessCannotJoinIsLeftAloneWithItsPrograms) {
    AttachPlan p = plan_attach("gw-out", dispatcher({{"xdpfilt_alw_all", 11}, {"bouncer", 14}}),
                               kNoDispatcher, XdpMode::automatic);
    EXPECT_EQ(p.step, Step::refuse);
    EXPECT_EQ(p.why,
              "gw-out: libxdp's dispatcher 'xdp_dispatcher' (id 7) runs 'xdpfilt_alw_all' (id "
              "11), 'bouncer' (id 14), but the gate cannot join it here (the kernel refused a "
              "freplace program: EPERM); xdpknock will not replace it");
}

TEST(AttachPlan, AnExplicitModeTheDispatcherDoesNotRunIsRefused) {
    AttachPlan p =
        plan_attach("gw-out", dispatcher({{"f", 1}}, true), kDispatcher, XdpMode::native);
    EXPECT_EQ(p.step, Step::refuse);
    EXPECT_EQ(p.why,
              "gw-out: libxdp's dispatcher runs in generic mode, xdp_mode \"native\" cannot join "
              "it (one XDP mode per interface): use \"auto\"");
    p = plan_attach("gw-out", dispatcher({{"f", 1}}, false), kDispatcher, XdpMode::generic);
    EXPECT_EQ(p.step, Step::refuse);
    EXPECT_NE(p.why.find("runs in native mode, xdp_mode \"generic\""), std::string::npos);
    p = plan_attach("gw-out", dispatcher({{"f", 1}}, true), kDispatcher, XdpMode::generic);
    EXPECT_EQ(p.step, Step::dispatcher_join);
}

TEST(AttachPlan, DescribeNamesEveryProgram) {
    EXPECT_EQ(describe({}), "no program");
    EXPECT_EQ(describe({{"a", 1}, {"b", 2}}), "'a' (id 1), 'b' (id 2)");
}

}  // namespace
}  // namespace xk::gate
