#pragma once
// The daemon's configuration: interfaces, knock ranges and protected services.
// Parsing validates everything up front so a bad file fails before anything attaches.

#include <array>
#include <cstdint>
#include <optional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address.hpp"
#include "policy/shared_budget.hpp"
#include "spa/fko_secret.hpp"
#include "xdpknock/maps.h"

namespace xk::policy {

// A range's knock method: an id only. What each one does lives behind methods::KnockMethod
// (userspace/methods); methods/registry.cpp maps the ids and the config's names to them.
enum class Method { plain, fko, sequence };
enum class XdpMode { automatic, native, generic };
// What drops packets to protected services until a grant: the XDP program at the NIC, or a
// chain of our own nftables table (where XDP can't or shouldn't run).
enum class GateKind { xdp, nftables };

// proto 0 / port 0 means "every protected port".
struct PortRef {
    uint8_t proto = 0;
    uint16_t port = 0;
    bool operator==(const PortRef &) const = default;
};

// fwknop's NAT access: a grant also forwards its first port to an inner host, for the
// grant's time (nftables DNAT, on either gate).
enum class Snat { none, masquerade, address };
struct Nat {
    std::optional<Endpoint> to;  // "nat": {"to": "ADDR:PORT"}: every grant (FORCE_NAT)
    Snat snat = Snat::none;      // "snat": "masquerade" | "ADDR" (FORCE_MASQUERADE/SNAT)
    Address snat_address;        // Snat::address
    bool allow_client = false;   // "allow_client_nat": honour fwknop -N requests
    std::vector<Cidr> targets;   // "nat_targets": where a client may ask to go
    bool enabled() const { return to || allow_client; }
};

// Parsed by the range's method (methods/), which fills its own part.
struct Secret {
    std::string label;
    std::vector<uint8_t> plain;  // plain: the payload to match
    spa::FkoSecret fko;          // fko: keys, HMAC type, mode
};

// Commands a range runs (userspace/hooks): argv arrays, argv[0] an absolute path; the
// arguments may hold %IP% %PORT% %PORTS% %RANGE% %LABEL% %USER%.
struct RangeHooks {
    std::vector<std::string> on_authorize, on_expire;
    uint32_t timeout_s = 10;
    bool empty() const { return on_authorize.empty() && on_expire.empty(); }
};

// A knockd-style port sequence (method "sequence"), judged in the gate's XDP program: a
// source that hits the steps in order within timeout_s is granted the range's ports.
struct PortSequence {
    std::vector<PortRef> steps;  // "sequence"; empty when one_time holds the sequences
    uint32_t timeout_s = 25;     // "seq_timeout": from the first hit to the last (knockd's default)
    // "tcp_flags" (knockd's tcpflags): a TCP hit counts when (flags & mask) == want; 0/0
    // counts every TCP packet, as knockd does without tcpflags.
    uint8_t tcp_flags_mask = 0, tcp_flags_want = 0;
    // "one_time_sequences": a file of sequences, one a line, each good for one grant; the
    // first unused one is the range's sequence (the daemon persists which are used).
    std::string one_time_file;
    std::vector<std::vector<PortRef>> one_time;
    // "revoke": completing the sequence ends every grant its source holds here, at once
    // (knockd's close door, which deletes the rule its open door added). Opens nothing.
    bool revoke = false;
};

// How a range's knocks may reach the gate (fwknop's -P): a UDP datagram to its port (fwknop's
// udp and udpraw look alike on the wire), a raw TCP segment to its port (tcpraw: a SYN
// carrying the knock), an ICMP or ICMPv6 echo (icmp), the path of an HTTP GET to a web
// server on its port (http: copied, never held). A bit each in Range::transports.
enum class Transport : uint8_t { udp = 1, tcp = 2, icmp = 4, http = 8 };
constexpr Transport kTransports[] = {Transport::udp, Transport::tcp, Transport::icmp,
                                     Transport::http};
const char *transport_name(Transport t);  // "udp", "tcpraw", "icmp", "http"

struct Range {
    std::string name;
    Method method{};  // plain when unset
    uint16_t port = 62201;
    uint8_t transports = static_cast<uint8_t>(Transport::udp);  // "transports"
    bool takes(Transport t) const { return transports & static_cast<uint8_t>(t); }
    uint32_t timeout_s = 30;
    std::vector<Cidr> sources;  // empty never happens: defaults to everything
    // The addresses a knock may be sent to (fwknop's DESTINATION); empty: any.
    std::vector<Cidr> destinations;
    std::vector<PortRef> open;
    std::vector<Secret> secrets;
    bool proof_ip = false;
    uint32_t proof_time_s = 120;  // 0 disables the time window
    uint32_t max_client_timeout_s = 300;
    // "expires_at" (Unix seconds; 0 never): from then on the range refuses every knock
    // (range_expired), as fwknopd's ACCESS_EXPIRE; grants made before run their course.
    int64_t expires_at = 0;
    // fko: "users", the only user names its knocks may carry (REQUIRE_USERNAME); empty: any.
    std::vector<std::string> users;
    // fko with GPG secrets: "gpg_per_second", the GPG decryptions a second its knocks may
    // cost when no HMAC vouched for them first; the budget all workers share (made at load).
    uint32_t gpg_per_second = 10;
    std::shared_ptr<SharedBudget> gpg_budget;
    // Most distinct sources this range may hold in the authorized map at once; a new
    // source beyond it is refused (range_full). Set at load: when the file omits it, a
    // share sized so no range can take the whole map.
    uint32_t max_sources = 0;
    RangeHooks hooks;
    PortSequence sequence;  // method "sequence" only
    Nat nat;
};

// A host behind the gateway that sleeps until an authorized SYN wants one of its services
// (Wake-on-LAN, KNOCK-AND-WAKE.md).
enum class WakeType {
    link,     // Ethernet frame, EtherType 0x0842, to ff:ff:ff:ff:ff:ff on the host's interface
    network,  // UDP to the interface's IPv4 broadcast address
    unicast,  // UDP to the host's own address
};

struct Host {
    std::string name;
    std::array<uint8_t, 6> mac{};
    std::optional<Address> ipv4, ipv6;  // probed (ARP / NDP) to tell awake from asleep
    std::string interface;              // the gateway's interface on the host's link
    WakeType wake_type = WakeType::link;
    uint16_t wake_port = 9;    // UDP types only
    uint32_t repeat_ms = 500;  // magic packet interval while the host stays silent
    uint32_t timeout_s = 10;   // give up after this long
};

struct Service {
    std::string name;
    PortRef port;
    int host = -1;                   // index into Config::hosts; -1 wakes nothing
    std::optional<Address> address;  // only SYNs to this destination wake the host
};

struct Interface {
    std::string name;
    XdpMode mode = XdpMode::automatic;
    GateKind gate = GateKind::xdp;
};

// The XDP pre-filter's per-source token bucket on knock ports ("knock_rate").
struct KnockRate {
    uint32_t per_source_pps = 20;
    uint32_t burst = 40;
};

// The Prometheus endpoint ("metrics"); off when listen is empty.
struct Metrics {
    std::string host;  // an IP literal; loopback unless allow_remote
    uint16_t port = 0;
    bool allow_remote = false;
    bool enabled() const { return port != 0; }
};

// Several gateways acting as one through Redis ("cluster"); off when redis is empty.
struct Cluster {
    std::string redis;  // "HOST:PORT", "[V6]:PORT" or "unix:/PATH", as written
    std::string host;   // parsed from it: a TCP host and port,
    uint16_t port = 0;
    std::string unix_path;  // or a unix socket
    std::string node;       // this gateway's name (default: the host name)
    std::string prefix = "xdpknock";
    std::string password_file;  // Redis AUTH password, read at start like a secret file
    uint32_t timeout_ms = 5;    // the longest a knock waits on Redis
    bool enabled() const { return !redis.empty(); }
    bool operator==(const Cluster &) const = default;
};

struct Config {
    std::vector<Interface> interfaces;
    std::vector<Range> ranges;
    std::vector<Service> services;
    std::vector<Host> hosts;
    KnockRate knock_rate;
    std::string state_dir = "/var/lib/xdpknock";
    unsigned workers = 0;        // 0: one per online CPU (at least one per rx queue)
    std::vector<unsigned> cpus;  // workers pinned round-robin to these; empty: 0, 1, ...
    bool busy_poll = false;      // spin on the AF_XDP rings (SO_PREFER_BUSY_POLL) instead of poll()
    // An http knock with an X-Forwarded-For header knocks for that address, not the packet's
    // source (the proxy's): fwknopd's ENABLE_X_FORWARDED_FOR.
    bool http_x_forwarded_for = false;
    std::string log_level = "info";
    uint32_t authorized_max = XK_AUTH_MAX_ENTRIES;  // max_entries of the gate's authorized map
    uint32_t flow_idle_timeout_s = 7200;            // idle timeout of the gate's TCP flow table
    // Idle timeouts of a UDP flow to a protected service (conntrack's udp / udp_stream): after
    // its first packet, and once it carried more than one.
    uint32_t udp_timeout_s = 30, udp_stream_timeout_s = 120;
    // Most fko digests the replay cache holds at once. The default holds about
    // replay_capacity / (2 x proof_time) knocks per second, sustained.
    uint32_t replay_capacity = 65536;
    // AF_XDP UMEM frames per rx queue (2 KiB each when the MTU fits, else 4 KiB), pinned:
    // the burst a queue absorbs while its worker is busy.
    uint32_t umem_frames = 1024;
    Metrics metrics;
    Cluster cluster;
};

class ConfigError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Why a name cannot be a Linux interface's (dev_valid_name: 1..15 bytes, not "." or "..",
// no '/', ':' or white space; printable ASCII besides), or nullptr.
const char *interface_name_problem(std::string_view name);

std::string format_port(const PortRef &p);
PortRef parse_port_ref(std::string_view text);  // "tcp/22", "udp/53", "*"; throws
// knockd's spelling of a sequence: "7000,8000:udp,9000" (tcp when no :proto). Throws.
std::vector<PortRef> parse_knockd_sequence(std::string_view text);
std::string format_sequence(const std::vector<PortRef> &steps);  // "tcp/7000,udp/8000"

// Map entries one source of the range can take, as its method counts them: one per open
// port, or for an fko range opening "*", one per protected service (the ports a client may
// usefully ask for).
uint32_t entries_per_source(const Range &range, const Config &config);

// What the operator should hear about a valid config at start, one line each, from the
// ranges' methods (e.g. an fko range with proof_ip off).
std::vector<std::string> config_warnings(const Config &config);

// Throws ConfigError("<key path>: <problem>").
Config parse_config(std::string_view json_text);
// Also refuses a file holding secrets that group or others can read, like ssh.
Config load_config(const std::string &path);
// The whole of a file that holds secrets, checked on the opened file like load_config:
// no symlink, a regular file, no group/other permission bits, owned by root or us.
// Throws ConfigError("<path>: <problem>").
std::string read_secret_file(const std::string &path);

}  // namespace xk::policy
