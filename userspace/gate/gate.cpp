#include "gate/gate.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "gate/dispatcher.hpp"
#include "gate/pins.hpp"
#include "log/log.hpp"
#include "xdpknock.skel.h"
#include "xdpknock/maps.h"

namespace xk::gate {
namespace {

std::string errstr(int err) {
    return std::strerror(err < 0 ? -err : err);
}

struct OwnedFd {
    int fd;
    ~OwnedFd() {
        if (fd >= 0) close(fd);
    }
};

struct SkeletonDestroy {
    void operator()(struct xdpknock *s) const { xdpknock__destroy(s); }
};
using Skeleton = std::unique_ptr<struct xdpknock, SkeletonDestroy>;

// The skeleton opened for this interface's pins and configured for its link, not loaded.
Skeleton open_skeleton(const GateOptions &options, LinkLayer layer, const std::string &pin_dir) {
    // Maps are declared LIBBPF_PIN_BY_NAME: libbpf names each pin <pin_dir>/<map name>.
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_dir.c_str());
    Skeleton skel(xdpknock__open_opts(&open_opts));
    if (!skel) throw GateError("cannot open the BPF object: " + errstr(errno));
    skel->rodata->xk_raw_ip = layer == LinkLayer::raw_ip;
    skel->rodata->xk_flow_idle_ns = uint64_t{options.flow_idle_s} * 1000000000ull;
    skel->rodata->xk_udp_idle_ns = uint64_t{options.udp_idle_s} * 1000000000ull;
    skel->rodata->xk_udp_stream_idle_ns = uint64_t{options.udp_stream_idle_s} * 1000000000ull;
    skel->rodata->xk_seq = options.sequences;
    bpf_map__set_max_entries(skel->maps.authorized, options.authorized_max);
    // ~4 bytes per grant, so a full map keeps the strangers' filter reads sparse.
    bpf_map__set_max_entries(skel->maps.auth_filter, xk_filter_lines(options.authorized_max));
    return skel;
}

}  // namespace

AttachedProgram attached_program(int ifindex) {
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (bpf_xdp_query(ifindex, 0, &q) != 0 || q.prog_id == 0) return {};
    AttachedProgram p{"?", q.prog_id, q.attach_mode == XDP_ATTACHED_SKB};
    int fd = bpf_prog_get_fd_by_id(q.prog_id);
    if (fd < 0) return p;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) p.name = info.name;
    close(fd);
    return p;
}

std::string attach_state(const std::string &ifname) {
    int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (ifindex == 0) return "no such interface here";
    OnInterface now = on_interface(ifindex);
    std::string mode = now.generic ? "generic" : "native";
    if (now.kind == OnInterface::Kind::none) return "not attached";
    if (now.kind == OnInterface::Kind::single)
        return is_ours(now.main) ? mode : "other XDP program attached";
    bool ours = std::any_of(now.components.begin(), now.components.end(), is_ours);
    return ours ? mode + " (libxdp dispatcher)" : "other XDP program attached";
}

std::string pin_dir_for(const std::string &pin_root, const std::string &ifname) {
    return (pin_root.empty() ? std::string(XK_PIN_ROOT) : pin_root) + "/" + ifname;
}

void ensure_bpffs() {
    struct statfs fs {};
    if (statfs("/sys/fs/bpf", &fs) == 0 && fs.f_type == BPF_FS_MAGIC) return;
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0) {
        throw GateError(std::string("/sys/fs/bpf: cannot mount bpffs: ") + std::strerror(errno));
    }
    XK_INFO("/sys/fs/bpf: no bpffs mounted; mounted one (mode 0700) for the gate's pins");
}

std::unique_ptr<Gate> Gate::prepare(const GateOptions &options) {
    route_library_logs();
    std::unique_ptr<Gate> g(new Gate());
    g->ifname_ = options.ifname;
    g->layer_ = options.layer;
    ensure_bpffs();
    g->pin_dir_ = pin_dir_for(options.pin_root, options.ifname);
    std::error_code ec;
    std::filesystem::create_directories(g->pin_dir_, ec);
    if (ec) throw GateError(g->pin_dir_ + ": " + ec.message());
    return g;
}

std::unique_ptr<Gate> Gate::load(const GateOptions &options,
                                 const std::function<void(Gate &)> &fill) {
    auto g = prepare(options);
    g->load_program(options);
    if (fill) fill(*g);
    return g;
}

std::unique_ptr<Gate> Gate::attach(const GateOptions &options,
                                   const std::function<void(Gate &)> &fill) {
    int ifindex = static_cast<int>(if_nametoindex(options.ifname.c_str()));
    if (ifindex == 0) throw GateError(options.ifname + ": no such interface");
    GateOptions on_link = options;
    on_link.layer = link_layer_of(options.ifname, link_type(options.ifname));
    // Another tool's program: refused before anything is loaded or pinned.
    ensure_bpffs();
    AttachPlan early =
        plan_attach(options.ifname, on_interface(ifindex), multiprog(), options.mode);
    if (early.step == AttachPlan::Step::refuse) throw GateError(early.why);
    auto g = load(on_link, fill);
    g->ifindex_ = ifindex;
    g->attach_xdp(on_link);
    return g;
}

void Gate::load_program(const GateOptions &options) {
    skel_ = open_skeleton(options, layer_, pin_dir_).release();
    PinPlan plan = plan_pins(skel_->obj, pin_dir_);
    // A failed load touches no pin: the gate already attached keeps gating, reachable.
    if (int err = xdpknock__load(skel_))
        throw GateError(ifname_ + ": cannot load the XDP program: " + errstr(err));
    for (const auto &c : finish_pins(plan)) {
        if (c.lost)
            XK_WARN("%s: %s", ifname_.c_str(), c.line.c_str());
        else
            XK_INFO("%s: %s", ifname_.c_str(), c.line.c_str());
    }
}

void Gate::attach_xdp(const GateOptions &options) {
    // Planned again at the last moment: the interface may have changed since attach() looked.
    OnInterface now = on_interface(ifindex_);
    AttachPlan plan = plan_attach(ifname_, now, multiprog(), options.mode);
    switch (plan.step) {
        case AttachPlan::Step::refuse:
            throw GateError(plan.why);
        case AttachPlan::Step::single:
        case AttachPlan::Step::replace_single:
            if (!plan.why.empty()) XK_INFO("%s", plan.why.c_str());
            attach_alone(options.mode, now);
            return;
        default:
            attach_dispatched(options, plan);
    }
}

// Alone on the interface. The flags make the kernel check what was planned on: nothing
// there (UPDATE_IF_NOEXIST) or our earlier program (REPLACE, by its fd), so a program
// another tool attached in the meantime is never replaced.
void Gate::attach_alone(policy::XdpMode mode, const OnInterface &now) {
    const int prog_fd = bpf_program__fd(skel_->progs.xdpknock);
    OwnedFd old{now.kind == OnInterface::Kind::single ? bpf_prog_get_fd_by_id(now.main.id) : -1};
    bool old_there = old.fd >= 0;
    const uint32_t old_flags = now.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    LIBBPF_OPTS(bpf_xdp_attach_opts, over_old, .old_prog_fd = old.fd);
    auto attach = [&](uint32_t flags) {
        bool replace = old_there && flags == old_flags;
        return bpf_xdp_attach(ifindex_, prog_fd,
                              flags | (replace ? XDP_FLAGS_REPLACE : XDP_FLAGS_UPDATE_IF_NOEXIST),
                              replace ? &over_old : nullptr);
    };
    auto try_attach = [&](uint32_t flags) {
        if (!old_there || flags == old_flags) return attach(flags);
        // Ours in the other mode must go first (one mode per interface). If the new mode
        // then fails, the new program goes in the old mode rather than leave none.
        if (int err = bpf_xdp_detach(ifindex_, old_flags | XDP_FLAGS_REPLACE, &over_old))
            return err;
        old_there = false;
        int err = attach(flags);
        if (err) attach(old_flags);
        return err;
    };
    // Auto with an earlier xdpknock attached: replace it in its own mode, atomically.
    if (mode == policy::XdpMode::automatic && old_there && attach(old_flags) == 0) {
        generic_ = old_flags == XDP_FLAGS_SKB_MODE;
        return;
    }
    if (mode != policy::XdpMode::generic) {
        int err = try_attach(XDP_FLAGS_DRV_MODE);
        if (err == 0) return;
        if (mode == policy::XdpMode::native)
            throw GateError(ifname_ + ": native XDP attach failed: " + errstr(err));
        XK_WARN("%s: driver has no native XDP (%s); falling back to generic mode, which is slower",
                ifname_.c_str(), errstr(err).c_str());
    }
    if (int err = try_attach(XDP_FLAGS_SKB_MODE))
        throw GateError(ifname_ + ": generic XDP attach failed: " + errstr(err));
    generic_ = true;
}

// In libxdp's dispatcher: a new one (native first in auto mode, as alone), or the one
// there, in its mode. Our earlier program there leaves once the new one runs beside it
// (both judge from the same maps meanwhile: a packet passes only if both pass it).
void Gate::attach_dispatched(const GateOptions &options, const AttachPlan &plan) {
    bool generic = plan.generic;
    int err = join_dispatcher(options, generic);
    if (err && !generic && plan.step == AttachPlan::Step::dispatcher_new &&
        options.mode == policy::XdpMode::automatic) {
        XK_WARN("%s: driver has no native XDP (%s); falling back to generic mode, which is slower",
                ifname_.c_str(), errstr(err).c_str());
        generic = true;
        err = join_dispatcher(options, generic);
    }
    if (err) {
        throw GateError(ifname_ + ": cannot add the gate to libxdp's dispatcher (" +
                        (generic ? "generic" : "native") + " mode): " + errstr(err));
    }
    for (uint32_t id : plan.old) {
        if (int e = dispatcher_remove(ifindex_, id))
            XK_WARN(
                "%s: our earlier program (id %u) stays in the dispatcher beside the new one: %s",
                ifname_.c_str(), id, errstr(e).c_str());
    }
    generic_ = generic;
    OnInterface after = on_interface(ifindex_);
    dispatched_ = after.kind == OnInterface::Kind::dispatcher;
    XK_INFO("%s: gate %s (%s mode, run priority %u; its XDP_PASS goes on to the next program): %s",
            ifname_.c_str(), dispatched_ ? "in libxdp's dispatcher" : "attached alone by libxdp",
            generic ? "generic" : "native", kRunPriority, describe(after.components).c_str());
}

// A second copy of the program for libxdp to load as the dispatcher's freplace. It opens
// this gate's pins, which hold their config already: it gates from its first packet.
int Gate::join_dispatcher(const GateOptions &options, bool generic) {
    Skeleton ext = open_skeleton(options, layer_, pin_dir_);
    return dispatcher_add(ext->obj, ifindex_, generic);
}

std::string Gate::lost() const {
    const int now = static_cast<int>(if_nametoindex(ifname_.c_str()));
    if (now == 0) return ifname_ + ": the interface is gone (deleted or moved away)";
    if (now != ifindex_) {
        return ifname_ + ": the interface was deleted and recreated (ifindex " +
               std::to_string(ifindex_) + " -> " + std::to_string(now) +
               "): the new one is not gated";
    }
    bool ours;
    if (dispatched_) {
        OnInterface on = on_interface(ifindex_);
        ours = std::any_of(on.components.begin(), on.components.end(), is_ours);
    } else {  // this very program, by id: a program put in its place is not this gate
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        ours = bpf_obj_get_info_by_fd(prog_fd(), &info, &len) == 0 &&
               attached_program(ifindex_).id == info.id;
    }
    return ours ? ""
                : ifname_ +
                      ": the gate's XDP program is no longer attached (taken off or replaced by "
                      "another tool): the interface is not gated";
}

namespace {

// Our program off ifindex: alone, only if it is still ours (REPLACE by its fd); from
// libxdp's dispatcher, ours only, the others keep running.
std::string detach_program(const std::string &ifname, int ifindex) {
    OnInterface now = on_interface(ifindex);
    if (now.kind == OnInterface::Kind::none) return ifname + ": no XDP program attached";
    if (now.kind == OnInterface::Kind::single) {
        if (!is_ours(now.main))
            throw GateError(ifname + " runs XDP program '" + now.main.name +
                            "', not xdpknock's; left alone");
        OwnedFd ours{bpf_prog_get_fd_by_id(now.main.id)};
        LIBBPF_OPTS(bpf_xdp_attach_opts, expected, .old_prog_fd = ours.fd);
        uint32_t flags = now.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
        if (int err = ours.fd < 0 ? -errno : bpf_xdp_detach(ifindex, flags, &expected))
            throw GateError(ifname + ": detach failed: " + errstr(err));
        return ifname + ": gate detached";
    }
    std::vector<XdpProgram> others;
    std::vector<uint32_t> ours;
    for (const auto &c : now.components) {
        if (is_ours(c))
            ours.push_back(c.id);
        else
            others.push_back(c);
    }
    if (ours.empty())
        throw GateError(ifname + ": libxdp's dispatcher runs " + describe(others) +
                        ", none of them xdpknock's; left alone");
    for (uint32_t id : ours) {
        if (int err = dispatcher_remove(ifindex, id))
            throw GateError(ifname +
                            ": cannot take the gate out of libxdp's dispatcher: " + errstr(err));
    }
    return ifname + ": gate detached from libxdp's dispatcher" +
           (others.empty() ? " (it was the last program there)"
                           : "; still running there: " + describe(others));
}

}  // namespace

std::string detach(const std::string &pin_root, const std::string &ifname) {
    int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    std::string said =
        ifindex ? detach_program(ifname, ifindex) : ifname + ": no such interface here";
    std::string dir = pin_dir_for(pin_root, ifname);
    if (std::filesystem::exists(dir)) {
        remove_pins(dir);
        said += ", pins removed";
    }
    return said;
}

Gate::~Gate() {
    if (skel_) xdpknock__destroy(skel_);
}

int Gate::prog_fd() const {
    return bpf_program__fd(skel_->progs.xdpknock);
}
int Gate::ports_fd() const {
    return bpf_map__fd(skel_->maps.ports);
}
int Gate::authorized_fd() const {
    return bpf_map__fd(skel_->maps.authorized);
}
int Gate::xsks_fd() const {
    return bpf_map__fd(skel_->maps.xsks);
}
int Gate::counters_fd() const {
    return bpf_map__fd(skel_->maps.counters);
}
int Gate::flows_fd() const {
    return bpf_map__fd(skel_->maps.flows);
}

int Gate::udp_flows_fd() const {
    return bpf_map__fd(skel_->maps.udp_flows);
}
int Gate::knock_buckets_fd() const {
    return bpf_map__fd(skel_->maps.knock_buckets);
}
int Gate::wake_last_fd() const {
    return bpf_map__fd(skel_->maps.wake_last);
}
int Gate::wake_events_fd() const {
    return bpf_map__fd(skel_->maps.wake_events);
}
int Gate::wake_targets_fd() const {
    return bpf_map__fd(skel_->maps.wake_targets);
}
int Gate::auth_filter_fd() const {
    return bpf_map__fd(skel_->maps.auth_filter);
}
int Gate::seq_ports_fd() const {
    return bpf_map__fd(skel_->maps.seq_ports);
}
int Gate::seq_ranges_fd() const {
    return bpf_map__fd(skel_->maps.seq_ranges);
}
int Gate::seq_state_fd() const {
    return bpf_map__fd(skel_->maps.seq_state);
}
int Gate::seq_events_fd() const {
    return bpf_map__fd(skel_->maps.seq_events);
}

int Gate::http_events_fd() const {
    return bpf_map__fd(skel_->maps.http_events);
}

}  // namespace xk::gate
