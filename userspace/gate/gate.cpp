#include "gate/gate.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "gate/pins.hpp"
#include "log/log.hpp"
#include "xdpknock.skel.h"
#include "xdpknock/maps.h"

namespace xk::gate {
namespace {

std::string errstr(int err) {
    return std::strerror(err < 0 ? -err : err);
}

// libbpf speaks through the project's log: its warnings (a verifier refusal, a pin that
// cannot be reused) as warnings with our timestamps, its chatter only at debug.
int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args) {
    log::Level ours = level == LIBBPF_WARN ? log::Level::warn : log::Level::debug;
    if (!log::enabled(ours)) return 0;
    char line[1024];
    int n = vsnprintf(line, sizeof(line), fmt, args);
    if (n > 0 && line[std::min<size_t>(size_t(n), sizeof(line) - 1) - 1] == '\n')
        line[std::min<size_t>(size_t(n), sizeof(line) - 1) - 1] = '\0';
    log::write(ours, "%s", line);  // libbpf says "libbpf: " itself
    return n;
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
    AttachedProgram p = attached_program(ifindex);
    if (p.name.empty()) return "not attached";
    if (p.name != "xdpknock") return "other XDP program attached";
    return p.generic ? "generic" : "native";
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
}

std::unique_ptr<Gate> Gate::prepare(const GateOptions &options) {
    static const bool routed = (libbpf_set_print(libbpf_log), true);
    (void)routed;
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
    auto g = load(on_link, fill);
    g->ifindex_ = ifindex;
    g->attach_xdp(options.mode);
    return g;
}

void Gate::load_program(const GateOptions &options) {
    // Maps are declared LIBBPF_PIN_BY_NAME: libbpf names each pin <pin_dir>/<map name>.
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_dir_.c_str());
    skel_ = xdpknock__open_opts(&open_opts);
    if (!skel_) throw GateError("cannot open the BPF object: " + errstr(errno));
    skel_->rodata->xk_raw_ip = layer_ == LinkLayer::raw_ip;
    skel_->rodata->xk_flow_idle_ns = uint64_t{options.flow_idle_s} * 1000000000ull;
    bpf_map__set_max_entries(skel_->maps.authorized, options.authorized_max);
    PinPlan plan = plan_pins(skel_->obj, pin_dir_);
    // A failed load touches no pin: the gate already attached keeps gating, reachable.
    if (int err = xdpknock__load(skel_))
        throw GateError(ifname_ + ": cannot load the XDP program: " + errstr(err));
    for (const auto &line : finish_pins(plan)) XK_WARN("%s: %s", ifname_.c_str(), line.c_str());
}

void Gate::attach_xdp(policy::XdpMode mode) {
    int prog_fd = bpf_program__fd(skel_->progs.xdpknock);
    AttachedProgram running = attached_program(ifindex_);
    const std::string &old = running.name;
    const uint32_t old_id = running.id;
    if (!old.empty() && old != "xdpknock") {
        throw GateError(ifname_ + " already runs XDP program '" + old + "' (id " +
                        std::to_string(old_id) + "); detach it first");
    }
    const uint32_t old_flags = running.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    // Auto with an earlier xdpknock attached: replace it in its own mode, atomically.
    if (mode == policy::XdpMode::automatic && !old.empty() &&
        bpf_xdp_attach(ifindex_, prog_fd, old_flags, nullptr) == 0) {
        generic_ = old_flags == XDP_FLAGS_SKB_MODE;
        return;
    }
    auto try_attach = [&](uint32_t flags) {
        // An earlier xdpknock in the other mode must go first: the kernel allows one. If the
        // new mode then fails, put the gate back in the old mode rather than leave none.
        bool switched = !old.empty() && old_flags != flags;
        if (switched) bpf_xdp_detach(ifindex_, old_flags, nullptr);
        int err = bpf_xdp_attach(ifindex_, prog_fd, flags, nullptr);
        if (err && switched) bpf_xdp_attach(ifindex_, prog_fd, old_flags, nullptr);
        return err;
    };
    int err = 0;
    if (mode != policy::XdpMode::generic) {
        err = try_attach(XDP_FLAGS_DRV_MODE);
        if (err == 0) return;
        if (mode == policy::XdpMode::native) {
            throw GateError(ifname_ + ": native XDP attach failed: " + errstr(err));
        }
        XK_WARN("%s: driver has no native XDP (%s); falling back to generic mode, which is slower",
                ifname_.c_str(), errstr(err).c_str());
    }
    err = try_attach(XDP_FLAGS_SKB_MODE);
    if (err) throw GateError(ifname_ + ": generic XDP attach failed: " + errstr(err));
    generic_ = true;
}

std::string detach(const std::string &pin_root, const std::string &ifname) {
    std::string said;
    int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    AttachedProgram running = ifindex ? attached_program(ifindex) : AttachedProgram{};
    const std::string &prog = running.name;
    if (!ifindex) {
        said = ifname + ": no such interface here";
    } else if (prog.empty()) {
        said = ifname + ": no XDP program attached";
    } else if (prog != "xdpknock") {
        throw GateError(ifname + " runs XDP program '" + prog + "', not xdpknock's; left alone");
    } else {
        uint32_t flags = running.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
        if (int err = bpf_xdp_detach(ifindex, flags, nullptr))
            throw GateError(ifname + ": detach failed: " + errstr(err));
        said = ifname + ": gate detached";
    }
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

}  // namespace xk::gate
