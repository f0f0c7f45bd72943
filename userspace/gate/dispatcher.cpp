#include "gate/dispatcher.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "gate/gate.hpp"
#include "log/log.hpp"

namespace xk::gate {
namespace {

// The probe expects refusals: while it runs, the libraries' warnings go to debug.
std::atomic<bool> quiet{false};

int library_log(bool warning, const char *fmt, va_list args) {
    log::Level ours = warning && !quiet ? log::Level::warn : log::Level::debug;
    if (!log::enabled(ours)) return 0;
    char line[1024];
    int n = vsnprintf(line, sizeof(line), fmt, args);
    size_t len = std::min<size_t>(n > 0 ? size_t(n) : 0, sizeof(line) - 1);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' ')) line[--len] = '\0';
    const char *text = line + strspn(line, " ");  // libxdp indents some of its lines
    log::write(ours, "%s", text);                 // both say "libbpf: " / "libxdp: "
    return n;
}

int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args) {
    return library_log(level == LIBBPF_WARN, fmt, args);
}

int libxdp_log(enum libxdp_print_level level, const char *fmt, va_list args) {
    return library_log(level == LIBXDP_WARN, fmt, args);
}

std::string errstr(long err) {
    return std::strerror(int(err < 0 ? -err : err));
}

struct ProgramClose {
    void operator()(xdp_program *p) const { xdp_program__close(p); }
};
using Program = std::unique_ptr<xdp_program, ProgramClose>;

// libxdp's dispatcher object (embedded in Debian's libxdp, else LIBXDP_OBJECT_PATH).
Program dispatcher_object_pass() {
    DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .prog_name = "xdp_pass",
                        .find_filename = "xdp-dispatcher.o");
    return Program(xdp_program__create(&opts));
}

Multiprog probe() {
    const char *skip = std::getenv("LIBXDP_SKIP_DISPATCHER");
    if (skip && std::strcmp(skip, "1") == 0) return {false, "LIBXDP_SKIP_DISPATCHER=1 is set"};
    struct statfs fs {};
    if (statfs("/sys/fs/bpf", &fs) != 0 || fs.f_type != BPF_FS_MAGIC)
        return {false, "no bpffs at /sys/fs/bpf for libxdp's dispatcher state"};
    Program target = dispatcher_object_pass(), test = dispatcher_object_pass();
    if (!target || !test) return {false, "libxdp's xdp-dispatcher.o: " + errstr(errno)};
    bpf_object *tobj = xdp_program__bpf_obj(target.get());
    if (int err = bpf_object__load(tobj))
        return {false, "the kernel refused libxdp's test XDP program: " + errstr(err)};
    int target_fd = bpf_program__fd(bpf_object__find_program_by_name(tobj, "xdp_pass"));
    bpf_program *ext = nullptr, *p;
    bpf_object__for_each_program(p, xdp_program__bpf_obj(test.get())) {
        bool pass = std::strcmp(bpf_program__name(p), "xdp_pass") == 0;
        bpf_program__set_autoload(p, pass);  // only the copy that replaces xdp_pass
        if (pass) ext = p;
    }
    if (!ext) return {false, "libxdp's xdp-dispatcher.o has no xdp_pass"};
    if (int err = bpf_program__set_attach_target(ext, target_fd, "xdp_pass"))
        return {false, "freplace target: " + errstr(err)};
    bpf_program__set_type(ext, BPF_PROG_TYPE_EXT);
    bpf_program__set_expected_attach_type(ext, bpf_attach_type(0));
    if (int err = bpf_object__load(xdp_program__bpf_obj(test.get())))
        return {false, "the kernel refused a freplace (BPF_PROG_TYPE_EXT) program: " + errstr(err)};
    int link = bpf_raw_tracepoint_open(nullptr, bpf_program__fd(ext));
    if (link < 0)
        return {false, "the kernel refused to attach a freplace program: " + errstr(errno)};
    close(link);
    return {true, ""};
}

XdpProgram described(const xdp_program *p) {
    const char *name = xdp_program__name(p);
    return {name ? name : "?", xdp_program__id(p)};
}

}  // namespace

void route_library_logs() {
    static const bool routed = (libbpf_set_print(libbpf_log), libxdp_set_print(libxdp_log), true);
    (void)routed;
}

OnInterface on_interface(int ifindex) {
    route_library_logs();
    xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
    long err = libxdp_get_error(mp);
    if (err == -ENOENT) return {};
    xdp_program *main = err ? nullptr : xdp_multiprog__main_prog(mp);
    if (err || !mp || !main) {
        xdp_multiprog__close(mp);  // takes libxdp's error pointers too
        // libxdp could not read it: the kernel's view, a program alone (never "nothing").
        AttachedProgram p = attached_program(ifindex);
        if (p.name.empty()) return {};
        return {OnInterface::Kind::single, {p.name, p.id}, {}, p.generic};
    }
    OnInterface out;
    out.generic = xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB;
    out.main = described(main);
    out.kind = OnInterface::Kind::single;
    if (!xdp_multiprog__is_legacy(mp)) {
        out.kind = OnInterface::Kind::dispatcher;
        for (xdp_program *p = xdp_multiprog__next_prog(nullptr, mp); p;
             p = xdp_multiprog__next_prog(p, mp)) {
            out.components.push_back(described(p));
        }
    }
    xdp_multiprog__close(mp);
    return out;
}

const Multiprog &multiprog() {
    static const Multiprog result = [] {
        route_library_logs();
        quiet = true;
        Multiprog m = probe();
        quiet = false;
        return m;
    }();
    return result;
}

int dispatcher_add(bpf_object *obj, int ifindex, bool generic) {
    route_library_logs();
    DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = obj, .prog_name = kOurProgram);
    Program p(xdp_program__create(&opts));
    if (!p) return -errno;
    int err = xdp_program__set_run_prio(p.get(), kRunPriority);
    for (unsigned action = XDP_ABORTED; err == 0 && action <= XDP_REDIRECT; ++action)
        err = xdp_program__set_chain_call_enabled(p.get(), action, action == XDP_PASS);
    if (err) return err;
    return xdp_program__attach(p.get(), ifindex, generic ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
}

int dispatcher_remove(int ifindex, uint32_t prog_id) {
    route_library_logs();
    xdp_program *p = xdp_program__from_id(prog_id);
    if (long err = libxdp_get_error(p)) return int(err);
    int err = xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
    xdp_program__close(p);
    return err;
}

}  // namespace xk::gate
