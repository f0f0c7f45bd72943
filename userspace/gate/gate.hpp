#pragma once
// The XDP gate on one interface: the skeleton's program and maps, pinned under
// <pin_root>/<ifname>/ so they outlive the daemon (fail closed) and bpftool can read them.
// It runs in libxdp's multi-program dispatcher where the kernel can, else alone; it never
// replaces another tool's XDP program (attach_plan.hpp decides, dispatcher.hpp does it).

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "gate/attach_plan.hpp"
#include "policy/config.hpp"

struct xdpknock;

namespace xk::gate {

class GateError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// How a link hands XDP its frames: from the Ethernet header, or from the IP header
// (tun, ppp, WireGuard, raw-IP wwan, ipip/sit/gre). Anything else cannot be gated.
enum class LinkLayer { ethernet, raw_ip };

// The link's ARPHRD_* type (SIOCGIFHWADDR: works in any netns, unlike /sys). Throws.
unsigned link_type(const std::string &ifname);
// Throws GateError naming the type when the gate cannot parse the link's frames.
LinkLayer link_layer_of(const std::string &ifname, unsigned arphrd);

struct GateOptions {
    std::string ifname;
    policy::XdpMode mode = policy::XdpMode::automatic;
    std::string pin_root;  // default XK_PIN_ROOT
    uint32_t authorized_max = XK_AUTH_MAX_ENTRIES;
    uint32_t flow_idle_s = 7200;
    uint32_t udp_idle_s = 30, udp_stream_idle_s = 120;  // a UDP flow: one packet / a stream
    LinkLayer layer = LinkLayer::ethernet;  // load() only: attach() reads it off the link
    // false: the config has no sequence range, so the program is loaded without the
    // sequence code (a packet to a port flagged as a step is then only dropped). Fixed for
    // the program's life: a reload that adds the first sequence range needs a new load.
    bool sequences = true;
};

class Gate {
  public:
    // Loads the program (reusing pinned maps, so authorizations survive a restart),
    // pins the maps and attaches: into libxdp's dispatcher when it works here, else alone,
    // replacing an earlier xdpknock program atomically. Another tool's program: GateError
    // before anything is loaded or pinned, and that program keeps running.
    // `fill` runs between load and attach: the maps hold their config before the program
    // sees a packet, so a fresh gate never lets a SYN through unjudged.
    static std::unique_ptr<Gate> attach(const GateOptions &options,
                                        const std::function<void(Gate &)> &fill = {});
    // Loads and pins (under <pin_root>/<ifname>) without attaching: the program runs only
    // through bpf_prog_test_run_opts. For tests, through the same code path as attach.
    static std::unique_ptr<Gate> load(const GateOptions &options,
                                      const std::function<void(Gate &)> &fill = {});
    ~Gate();  // leaves program and pins in place: a dead daemon keeps the gate closed

    int prog_fd() const;
    int ports_fd() const;
    int authorized_fd() const;
    int xsks_fd() const;
    int counters_fd() const;
    int flows_fd() const;
    int udp_flows_fd() const;  // xk_flow_key -> xk_udp_flow
    int knock_buckets_fd() const;
    int wake_last_fd() const;
    int wake_events_fd() const;   // ring buffer of xk_wake_event
    int wake_targets_fd() const;  // xk_wake_target -> host id
    int auth_filter_fd() const;   // the authorized map's Bloom filter (auth/auth_filter.hpp)
    int seq_ports_fd() const;     // xk_seq_port_key -> xk_seq_port (gate/sequences.hpp)
    int seq_ranges_fd() const;    // seq_index -> xk_seq_range
    int seq_state_fd() const;     // xk_seq_key -> xk_seq_state: each source's progress
    int seq_events_fd() const;    // ring buffer of xk_seq_event: completed sequences
    int http_events_fd() const;   // ring buffer of xk_http_event: copies of fwknop -P http
    int ifindex() const { return ifindex_; }
    bool raw_ip() const { return layer_ == LinkLayer::raw_ip; }
    const char *mode_name() const { return generic_ ? "generic" : "native"; }
    bool in_dispatcher() const { return dispatched_; }  // libxdp's, beside other programs
    const std::string &pin_dir() const { return pin_dir_; }
    // "" while the program runs on the interface it was attached to; else what changed,
    // naming the interface: deleted, deleted and recreated (a new ifindex, ungated), or
    // the program taken off. Kernel queries only when the gate runs alone: once a second.
    std::string lost() const;

  private:
    Gate() = default;
    void load_program(const GateOptions &options);
    static std::unique_ptr<Gate> prepare(const GateOptions &options);
    void attach_xdp(const GateOptions &options);
    void attach_alone(policy::XdpMode mode, const OnInterface &now);
    void attach_dispatched(const GateOptions &options, const AttachPlan &plan);
    int join_dispatcher(const GateOptions &options, bool generic);

    struct xdpknock *skel_ = nullptr;
    std::string ifname_, pin_dir_;
    int ifindex_ = 0;
    LinkLayer layer_ = LinkLayer::ethernet;
    bool generic_ = false;
    bool dispatched_ = false;
};

// The XDP program attached to an interface in any mode, as the kernel reports it (a
// dispatcher shows as itself): name "" when none ("?" when it cannot be read).
struct AttachedProgram {
    std::string name;
    uint32_t id = 0;
    bool generic = false;  // XDP_ATTACHED_SKB
};
AttachedProgram attached_program(int ifindex);
// What status shows for ifname: "native"/"generic" for our gate (with " (libxdp
// dispatcher)" when it runs there), else what is there.
std::string attach_state(const std::string &ifname);

std::string pin_dir_for(const std::string &pin_root, const std::string &ifname);
// Mounts bpffs at /sys/fs/bpf when a fresh machine or netns has none.
void ensure_bpffs();

// `xdpknock detach`: the one way a gate comes off. Detaches our program from the
// interface (if it still exists; from libxdp's dispatcher, only ours: the others keep
// running) and removes its pins. Returns what it did, for the log.
std::string detach(const std::string &pin_root, const std::string &ifname);

}  // namespace xk::gate
