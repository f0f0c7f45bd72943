#include "loaded_gate.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/in.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "auth/authorized.hpp"
#include "catalog_world.hpp"
#include "gate/pins.hpp"
#include "gate/ports.hpp"
#include "gate/sequences.hpp"
#include "gate_frames.hpp"
#include "policy/address.hpp"
#include "xsk/xsk_socket.hpp"

namespace xk::test {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPinPrefix = "xdpknock-bpftest-";

[[noreturn]] void fail(const std::string &step, int err) {
    throw std::runtime_error(step + ": " + std::strerror(err < 0 ? -err : err));
}

void check(const char *step, int rc) {
    if (rc) fail(step, rc < 0 && rc != -1 ? rc : errno);
}

// Pin roots left by test processes that died before their destructors ran.
void removeStaleRoots() {
    std::error_code ec;
    for (const auto &e : fs::directory_iterator("/sys/fs/bpf", ec)) {
        const std::string name = e.path().filename();
        if (name.rfind(kPinPrefix, 0) != 0) continue;
        const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + kPinPrefix.size()));
        if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)) continue;
        fs::remove_all(e.path(), ec);
    }
}

// /sys/fs/bpf/xdpknock-bpftest-<pid>: no other process (daemon, test) shares our maps.
const std::string &pinRoot() {
    static const std::string root = [] {
        gate::ensure_bpffs();
        removeStaleRoots();
        return "/sys/fs/bpf/" + std::string(kPinPrefix) + std::to_string(getpid());
    }();
    return root;
}

// A fake interface per gate: Gate::load never looks it up, and the name keeps the pin
// directories of two gates (Ethernet, raw IP) apart.
std::string nextIfname(bool rawIp) {
    static unsigned n = 0;
    return (rawIp ? "xktest-raw" : "xktest") + std::to_string(n++);
}

bool isMapped(const Ipv6Addr &a) {
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(a.data(), prefix, sizeof(prefix)) == 0;
}

}  // namespace

uint64_t monotonicNowNs() {
    return auth::monotonic_ns();
}

LoadedGate::LoadedGate(bool rawIp, uint32_t authorizedMax) {
    gate::GateOptions options;
    options.authorized_max = authorizedMax;
    options.ifname = nextIfname(rawIp);
    options.pin_root = pinRoot();
    options.layer = rawIp ? gate::LinkLayer::raw_ip : gate::LinkLayer::ethernet;
    gate_ = gate::Gate::load(options);
    // No quotas: tests grant under range ids of their own choosing. The store owns the
    // filter, as the daemon's does.
    store_ = std::make_unique<auth::Authorized>(gate_->authorized_fd());
    store_->use_filter(auth::AuthFilter::open(gate_->auth_filter_fd()), true);
    filter_ = auth::AuthFilter::open(gate_->auth_filter_fd());  // a second writer's view
    knockBucketsFd_ = gate_->knock_buckets_fd();
    wakeLastFd_ = gate_->wake_last_fd();
}

// Gate's destructor leaves its pins (a dead daemon keeps the gate closed): a test's go.
LoadedGate::~LoadedGate() {
    const std::string dir = gate_->pin_dir();
    filter_.reset();
    store_.reset();
    gate_.reset();
    gate::remove_pins(dir);
    // Not pinRoot(): at exit its static may already be gone. Fails (fine) while another
    // gate of this process still pins there.
    rmdir(fs::path(dir).parent_path().c_str());
}

LoadedGate &catalogGate(bool rawIp) {
    static std::unique_ptr<LoadedGate> loaded[2];
    std::unique_ptr<LoadedGate> &g = loaded[rawIp];
    if (!g) {
        // Kept only once the world is in: a half-filled gate would fail tests confusingly.
        auto fresh = std::make_unique<LoadedGate>(rawIp);
        fresh->installCatalogWorld();
        g = std::move(fresh);
    }
    return *g;
}

void LoadedGate::writeConfig(const policy::Config &config) {
    gate::write_ports(gate_->ports_fd(), config);
    gate::write_wake_targets(gate_->wake_targets_fd(), config);
    std::vector<gate::SeqCurrent> current;
    for (uint32_t id : gate::sequence_range_ids(config))
        current.push_back(gate::initial_sequence(config.ranges[id]));
    gate::write_sequences(*gate_, config, current);
}

void LoadedGate::installCatalogWorld() {
    writeConfig(catalogConfig());
    // Hand-written: the catalog knock ports refill a token every 1 ns, so back-to-back test
    // runs (and the perf tool's millions of repeats) never run a bucket dry. knock_rate
    // goes down to 1 µs per token (1000000 pps), and is one rate for every port: the
    // config holds kRatePort's. Only the rate is patched; the shapes stay the config's.
    for (uint16_t p : {kKnockPort, kPlainPort, kSharedPort, uint16_t{0}}) {  // 0: ICMP knocks
        xk_port open = port(p);
        open.rate_interval_ns = kOpenRateIntervalNs;
        open.rate_burst_ns = kOpenRateBurstNs;
        setPort(p, open);
    }
    const uint32_t hour = 3600;
    for (const AuthGrant &g : authGrants()) {
        if (g.expired) {
            // The store only writes live grants: an expired entry needs the direct write.
            authorize(gateAddr(g.addr), g.proto, g.port, monotonicNowNs() - 1'000'000'000u);
        } else {
            grant(g.addr, policy::PortRef{g.proto, g.port}, hour);
        }
    }
}

void LoadedGate::setPort(uint16_t port, const xk_port &value) {
    uint32_t key = port;
    check("update ports", bpf_map_update_elem(gate_->ports_fd(), &key, &value, 0));
}

xk_port LoadedGate::port(uint16_t port) const {
    uint32_t key = port;
    xk_port value{};
    check("lookup ports", bpf_map_lookup_elem(gate_->ports_fd(), &key, &value));
    return value;
}

void LoadedGate::setKnockBucket(const Ipv6Addr &source, uint64_t tatNs) {
    xk_knock_source src{};
    std::memcpy(src.addr, source.data(), sizeof(src.addr));
    if (!isMapped(source)) std::memset(src.addr + 8, 0, 8);  // the /64 is the source
    __u32 w[4];
    std::memcpy(w, src.addr, sizeof(w));
    uint32_t set = xk_knock_set_of(w);
    xk_knock_set value{};
    check("lookup knock_buckets", bpf_map_lookup_elem(knockBucketsFd_, &set, &value));
    xk_knock_slot *slot = &value.slot[0];
    for (xk_knock_slot &s : value.slot) {
        if (std::memcmp(s.src.addr, src.addr, sizeof(src.addr)) == 0) slot = &s;
    }
    slot->src = src;
    slot->bucket.tat_ns = tatNs;
    check("update knock_buckets", bpf_map_update_elem(knockBucketsFd_, &set, &value, 0));
}

void LoadedGate::grant(std::string_view addr, policy::PortRef port, uint32_t timeoutS,
                       uint32_t rangeId, uint32_t secretId) {
    const auto a = policy::parse_address(std::string(addr));
    if (!a) throw std::invalid_argument("not an address: " + std::string(addr));
    if (int rc = store_->grant(*a, {&port, 1}, timeoutS, rangeId, secretId))
        fail("grant " + std::string(addr), rc);
}

void LoadedGate::authorize(const Ipv6Addr &addr, uint8_t proto, uint16_t port, uint64_t expiresNs,
                           uint32_t rangeId, uint32_t secretId) {
    xk_auth_key key{};
    std::memcpy(key.addr, addr.data(), sizeof(key.addr));
    key.port = port;
    key.proto = proto;
    xk_auth_value value{};
    value.expires_ns = expiresNs;
    value.range_id = rangeId;
    value.secret_id = secretId;
    filter_->add(key);  // what every writer does first (auth/auth_filter.hpp)
    check("update authorized", bpf_map_update_elem(gate_->authorized_fd(), &key, &value, 0));
}

void LoadedGate::resetWakeDebounce(uint32_t host) {
    const uint64_t never = 0;
    check("update wake_last", bpf_map_update_elem(wakeLastFd_, &host, &never, 0));
}

std::vector<xk_wake_event> LoadedGate::drainWakeEvents() {
    std::vector<xk_wake_event> out;
    auto collect = [](void *ctx, void *data, size_t size) {
        if (size == sizeof(xk_wake_event)) {
            auto *events = static_cast<std::vector<xk_wake_event> *>(ctx);
            events->push_back(*static_cast<const xk_wake_event *>(data));
        }
        return 0;
    };
    ring_buffer *rb = ring_buffer__new(gate_->wake_events_fd(), collect, &out, nullptr);
    if (!rb) fail("ring_buffer__new", errno);
    int n = ring_buffer__consume(rb);
    ring_buffer__free(rb);
    if (n < 0) fail("ring_buffer__consume", n);
    return out;
}

namespace {
// Every record of a ring of T (seq_events, http_events) now in it.
template <typename T>
std::vector<T> drain(int fd) {
    std::vector<T> out;
    auto collect = [](void *ctx, void *data, size_t size) {
        if (size == sizeof(T))
            static_cast<std::vector<T> *>(ctx)->push_back(*static_cast<T *>(data));
        return 0;
    };
    ring_buffer *rb = ring_buffer__new(fd, collect, &out, nullptr);
    if (!rb) fail("ring_buffer__new", errno);
    int n = ring_buffer__consume(rb);
    ring_buffer__free(rb);
    if (n < 0) fail("ring_buffer__consume", n);
    return out;
}
}  // namespace

std::vector<xk_seq_event> LoadedGate::drainSeqEvents() {
    return drain<xk_seq_event>(gate_->seq_events_fd());
}

std::vector<xk_http_event> LoadedGate::drainHttpEvents() {
    return drain<xk_http_event>(gate_->http_events_fd());
}

namespace {
xk_seq_key seqKey(const Ipv6Addr &source, uint32_t seqIndex) {
    xk_seq_key key{};
    std::memcpy(key.addr, source.data(), sizeof(key.addr));
    key.seq_index = seqIndex;
    return key;
}
}  // namespace

std::optional<xk_seq_state> LoadedGate::seqState(const Ipv6Addr &source, uint32_t seqIndex) const {
    const xk_seq_key key = seqKey(source, seqIndex);
    xk_seq_state value{};
    if (bpf_map_lookup_elem(gate_->seq_state_fd(), &key, &value) != 0) return std::nullopt;
    return value;
}

void LoadedGate::setSeqState(const Ipv6Addr &source, uint32_t seqIndex, const xk_seq_state &state) {
    const xk_seq_key key = seqKey(source, seqIndex);
    check("update seq_state", bpf_map_update_elem(gate_->seq_state_fd(), &key, &state, 0));
}

void LoadedGate::clearSeqState() {
    const int fd = gate_->seq_state_fd();
    xk_seq_key key{};
    while (bpf_map_get_next_key(fd, nullptr, &key) == 0) bpf_map_delete_elem(fd, &key);
}

void LoadedGate::setFlow(const xk_flow_key &key, uint64_t expiresNs, bool closing) {
    xk_flow value{};
    value.expires_ns = expiresNs;
    value.closing = closing;
    check("update flows", bpf_map_update_elem(gate_->flows_fd(), &key, &value, 0));
}

std::optional<xk_flow> LoadedGate::flow(const xk_flow_key &key) const {
    xk_flow value{};
    if (bpf_map_lookup_elem(gate_->flows_fd(), &key, &value) != 0) return std::nullopt;
    return value;
}

void LoadedGate::clearFlows() {
    const int fd = gate_->flows_fd();
    xk_flow_key key{};
    while (bpf_map_get_next_key(fd, nullptr, &key) == 0) bpf_map_delete_elem(fd, &key);
}

void LoadedGate::setUdpFlow(const xk_flow_key &key, uint64_t expiresNs, bool stream) {
    xk_udp_flow value{};
    value.expires_ns = expiresNs;
    value.stream = stream;
    check("update udp_flows", bpf_map_update_elem(gate_->udp_flows_fd(), &key, &value, 0));
}

std::optional<xk_udp_flow> LoadedGate::udpFlow(const xk_flow_key &key) const {
    xk_udp_flow value{};
    if (bpf_map_lookup_elem(gate_->udp_flows_fd(), &key, &value) != 0) return std::nullopt;
    return value;
}

void LoadedGate::clearUdpFlows() {
    const int fd = gate_->udp_flows_fd();
    xk_flow_key key{};
    while (bpf_map_get_next_key(fd, nullptr, &key) == 0) bpf_map_delete_elem(fd, &key);
}

std::unique_ptr<xsk::XskSocket> LoadedGate::bindKnockSocket(uint32_t queue) const {
    xsk::XskOptions options;
    options.frames = 64;  // the gate tests never receive: a token UMEM is enough
    options.ring_size = 32;
    return xsk::XskSocket::open("lo", queue, gate_->xsks_fd(), options);
}

void LoadedGate::clearXsk(uint32_t queue) {
    bpf_map_delete_elem(gate_->xsks_fd(), &queue);  // absent is fine
}

LoadedGate::Run LoadedGate::run(std::span<const uint8_t> frame, uint32_t repeat) const {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = uint32_t(frame.size()), .repeat = int(repeat));
    int err = bpf_prog_test_run_opts(gate_->prog_fd(), &opts);
    return {err < 0 ? -errno : 0, opts.retval, opts.duration};
}

Bytes LoadedGate::output(std::span<const uint8_t> frame) const {
    Bytes out(frame.size() + 256);  // room for any metadata the program adds
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(out.size()));
    check("test run", bpf_prog_test_run_opts(gate_->prog_fd(), &opts));
    out.resize(opts.data_size_out);
    return out;
}

Counters LoadedGate::counters() const {
    return gate::read_counters(gate_->counters_fd());
}

}  // namespace xk::test
