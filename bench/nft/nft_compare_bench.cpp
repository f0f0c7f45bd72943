// bench/nft_compare.sh's helper (bench/nft/CMakeLists.txt). Each subcommand does one timed
// step and prints one JSON object on stdout; the script runs it inside its own namespaces.
//
//   apply-nft IF N one|many TIMEOUT_S [MAX_S]   NftStore::grant() N times, or grant_many()
//   expire-nft IF N TIMEOUT_S                    grant_many, then from expiry to all gone
//   apply-xdp N TIMEOUT_S                        Authorized::grant on a bare authorized map
//   expire-xdp N TIMEOUT_S                       ... then Authorized::sweep from expiry on
//   fwknop-apply IPTABLES N FIRST TIMEOUT_S [MAX_S]  fwknopd's ipt_rule(): 4 forks a grant
//   fwknop-expire IPTABLES [MAX_DELETES] [OUT_BUF]   fwknopd's check_firewall_rules() pass
//                                                (0 or absent: no limit)
//   gate-nft IF N CLIENT                         nftables gate attached, N grants + CLIENT
//   gate-xdp IF PIN_ROOT N CLIENT                XDP gate attached (production loader), same
//   counters-nft IF | counters-xdp IF PIN_ROOT | detach-xdp IF PIN_ROOT
//   serve PORT SECONDS                           accept() and close() until SECONDS pass
//   connect SRC DST PORT COUNT                   sequential connect()+close() (RST), timed
//   syn IF DST_MAC SRC DST PORT COUNT            COUNT SYNs through AF_PACKET, timed
//
// Grant i (0-based) is for 10.200.(i+1 >> 8).(i+1 & 255), tcp/22.

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth_filter.hpp"
#include "auth/authorized.hpp"
#include "gate/counters.hpp"
#include "gate/gate.hpp"
#include "gate/ports.hpp"
#include "log/clock.hpp"
#include "log/log.hpp"
#include "nft/nft_gate.hpp"
#include "nft/nft_store.hpp"
#include "policy/address.hpp"
#include "policy/config.hpp"

namespace {

using namespace xk;
using Args = std::vector<std::string>;

constexpr policy::PortRef kSsh{6, 22};

uint32_t source_v4(size_t i) {  // host order
    return (10u << 24) | (200u << 16) | static_cast<uint32_t>(i + 1);
}
policy::Address source(size_t i) {
    return policy::Address::from_v4(htonl(source_v4(i)));
}
std::string source_text(size_t i) {
    const uint32_t a = source_v4(i);
    return std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 255) + "." +
           std::to_string(a >> 8 & 255) + "." + std::to_string(a & 255);
}
policy::Address parse(const std::string &text) {
    auto a = policy::parse_address(text);
    if (!a) throw std::runtime_error("not an address: " + text);
    return *a;
}
double ms_since(uint64_t t0) {
    return static_cast<double>(monotonic_ns() - t0) / 1e6;
}
double ms(uint64_t a, uint64_t b) {
    return (static_cast<double>(b) - static_cast<double>(a)) / 1e6;
}
void sleep_until(uint64_t t) {
    const uint64_t now = monotonic_ns();
    if (t > now) std::this_thread::sleep_for(std::chrono::nanoseconds(t - now));
}
size_t num(const Args &a, size_t i, size_t def = 0) {
    return i < a.size() ? std::stoull(a[i]) : def;
}

// ---- nftables store --------------------------------------------------------------------

std::unique_ptr<nft::NftGate> attach_nft(const std::string &ifname) {
    return nft::NftGate::attach({ifname, {kSsh}, {}});
}

int apply_nft(const Args &a) {
    const std::string ifname = a.at(0);
    const size_t n = num(a, 1);
    const bool many = a.at(2) == "many";
    const auto timeout = static_cast<uint32_t>(num(a, 3));
    const double max_s = static_cast<double>(num(a, 4, 3600));
    auto gate = attach_nft(ifname);
    nft::NftStore store(ifname);
    size_t done = 0, failed = 0;
    const uint64_t t0 = monotonic_ns();
    if (many) {
        std::vector<nft::NftStore::GrantRequest> reqs(n);
        for (size_t i = 0; i < n; ++i) reqs[i] = {source(i), {kSsh}, timeout};
        for (int r : store.grant_many(reqs)) (r == 0 ? done : failed)++;
    } else {
        for (size_t i = 0; i < n && ms_since(t0) < max_s * 1000; ++i)
            (store.grant(source(i), {&kSsh, 1}, timeout, auth::kHandRange, UINT32_MAX) == 0
                 ? done
                 : failed)++;
    }
    const double total = ms_since(t0);
    const uint64_t tl = monotonic_ns();
    const size_t in_kernel = store.list().size();
    const double list_ms = ms_since(tl);
    printf(
        "{\"grants\": %zu, \"failed\": %zu, \"total_ms\": %.3f, \"per_grant_us\": %.3f, "
        "\"batches\": %llu, \"in_kernel\": %zu, \"list_ms\": %.3f}\n",
        done, failed, total, done ? total * 1000 / static_cast<double>(done) : 0.0,
        static_cast<unsigned long long>(store.batches()), in_kernel, list_ms);
    nft::NftGate::detach(ifname);
    return failed ? 1 : 0;
}

int expire_nft(const Args &a) {
    const std::string ifname = a.at(0);
    const size_t n = num(a, 1);
    const auto timeout = static_cast<uint32_t>(num(a, 2));
    auto gate = attach_nft(ifname);
    nft::NftStore store(ifname);
    std::vector<nft::NftStore::GrantRequest> reqs(n);
    for (size_t i = 0; i < n; ++i) reqs[i] = {source(i), {kSsh}, timeout};
    const uint64_t t0 = monotonic_ns();
    size_t failed = 0;
    for (int r : store.grant_many(reqs)) failed += r != 0;
    const uint64_t committed = monotonic_ns();
    const size_t live_before = store.list().size();
    // Every element expires by the end of its commit + timeout: the clock starts there.
    const uint64_t expiry = committed + uint64_t{timeout} * 1000000000ull;
    sleep_until(expiry);
    size_t swept = 0, sweeps = 0;
    double store_ms = -1, kernel_ms = -1, sweep_ms_max = 0, list_ms_max = 0;
    while (ms_since(expiry) < 30000) {
        const uint64_t s = monotonic_ns();
        swept += store.sweep(s).size();
        ++sweeps;
        sweep_ms_max = std::max(sweep_ms_max, ms_since(s));
        if (store_ms < 0 && swept >= n && store.count(monotonic_ns()) == 0)
            store_ms = ms(expiry, monotonic_ns());
        if (kernel_ms < 0) {
            const uint64_t l = monotonic_ns();
            const size_t left = store.list().size();
            list_ms_max = std::max(list_ms_max, ms_since(l));
            if (left == 0) kernel_ms = ms(expiry, monotonic_ns());
        }
        if (store_ms >= 0 && kernel_ms >= 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    printf(
        "{\"grants\": %zu, \"failed\": %zu, \"grant_many_ms\": %.3f, \"live_before\": %zu, "
        "\"swept\": %zu, \"sweeps\": %zu, \"store_knows_ms\": %.3f, \"kernel_empty_ms\": %.3f, "
        "\"sweep_ms_max\": %.3f, \"list_ms_max\": %.3f}\n",
        n - failed, failed, ms(t0, committed), live_before, swept, sweeps, store_ms, kernel_ms,
        sweep_ms_max, list_ms_max);
    nft::NftGate::detach(ifname);
    return store_ms < 0 || kernel_ms < 0 ? 1 : 0;
}

// ---- XDP map store ---------------------------------------------------------------------

int bare_map() {
    const int fd = bpf_map_create(BPF_MAP_TYPE_HASH, XK_MAP_AUTHORIZED, sizeof(xk_auth_key),
                                  sizeof(xk_auth_value), XK_AUTH_MAX_ENTRIES, nullptr);
    if (fd < 0) throw std::runtime_error("bpf_map_create: " + std::string(strerror(errno)));
    return fd;
}
size_t map_entries(int fd) {
    xk_auth_key k{}, next{};
    size_t n = 0;
    for (const void *prev = nullptr; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &k) {
        k = next;
        ++n;
    }
    return n;
}

int apply_xdp(const Args &a) {
    const size_t n = num(a, 0);
    const auto timeout = static_cast<uint32_t>(num(a, 1));
    const int fd = bare_map();
    auth::Authorized store(fd);
    size_t done = 0, failed = 0;
    const uint64_t t0 = monotonic_ns();
    for (size_t i = 0; i < n; ++i)
        (store.grant(source(i), {&kSsh, 1}, timeout, auth::kHandRange, UINT32_MAX) == 0 ? done
                                                                                        : failed)++;
    const double total = ms_since(t0);
    printf(
        "{\"grants\": %zu, \"failed\": %zu, \"total_ms\": %.3f, \"per_grant_us\": %.3f, "
        "\"in_map\": %zu}\n",
        done, failed, total, done ? total * 1000 / static_cast<double>(done) : 0.0,
        map_entries(fd));
    close(fd);
    return failed ? 1 : 0;
}

int expire_xdp(const Args &a) {
    const size_t n = num(a, 0);
    const auto timeout = static_cast<uint32_t>(num(a, 1));
    const int fd = bare_map();
    auth::Authorized store(fd);
    size_t failed = 0;
    const uint64_t t0 = monotonic_ns();
    for (size_t i = 0; i < n; ++i)
        failed += store.grant(source(i), {&kSsh, 1}, timeout, auth::kHandRange, UINT32_MAX) != 0;
    const uint64_t granted = monotonic_ns();
    const size_t live_before = map_entries(fd);
    const uint64_t expiry = granted + uint64_t{timeout} * 1000000000ull;
    sleep_until(expiry);
    size_t swept = 0, sweeps = 0;
    double done_ms = -1, sweep_ms_max = 0;
    while (ms_since(expiry) < 30000) {
        const uint64_t s = monotonic_ns();
        swept += store.sweep(s).size();
        ++sweeps;
        sweep_ms_max = std::max(sweep_ms_max, ms_since(s));
        if (swept >= n && map_entries(fd) == 0) {
            done_ms = ms(expiry, monotonic_ns());
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    printf(
        "{\"grants\": %zu, \"failed\": %zu, \"grant_ms\": %.3f, \"live_before\": %zu, "
        "\"swept\": %zu, \"sweeps\": %zu, \"map_empty_ms\": %.3f, \"sweep_ms_max\": %.3f}\n",
        n - failed, failed, ms(t0, granted), live_before, swept, sweeps, done_ms, sweep_ms_max);
    close(fd);
    return done_ms < 0 ? 1 : 0;
}

// ---- fwknopd's iptables path -----------------------------------------------------------
// As fwknopd's run_extcmd(): fork, exec the command with stdout and stderr on a pipe, read
// what it prints (at most `keep` bytes kept, like its fixed buffers; all of it read),
// wait. Returns the exit status (-1: not exited).

int run_cmd(const std::vector<std::string> &argv, std::string *out, size_t keep) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::vector<char *> cargv;
    for (const auto &s : argv) cargv.push_back(const_cast<char *>(s.c_str()));
    cargv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        execv(cargv[0], cargv.data());
        _exit(127);
    }
    close(p[1]);
    char buf[65536];
    for (ssize_t r; (r = read(p[0], buf, sizeof buf)) != 0;) {
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (out && out->size() < keep)
            out->append(buf, std::min(static_cast<size_t>(r), keep - out->size()));
    }
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

constexpr const char *kChain = "FWKNOP_INPUT";

// fwknopd's IPT_RULE_ARGS for an INPUT access rule, after the chain.
std::vector<std::string> rule_args(const std::string &ipt, const char *op, const std::string &src,
                                   unsigned exp_ts) {
    return {ipt,  op,      kChain,    "-t",        "filter",
            "-p", "6",     "-s",      src,         "--dport",
            "22", "-m",    "comment", "--comment", "_exp_" + std::to_string(exp_ts),
            "-j", "ACCEPT"};
}

// ipt_rule() for one SPA grant: mk_chain (chain_exists: -L CHAIN -n; jump_rule_exists:
// -C INPUT -j CHAIN), rule_exists (-C CHAIN RULE), create_rule (-A CHAIN RULE).
int fwknop_apply(const Args &a) {
    const std::string ipt = a.at(0);
    const size_t n = num(a, 1), first = num(a, 2);
    const auto timeout = static_cast<unsigned>(num(a, 3));
    const double max_s = static_cast<double>(num(a, 4, 3600));
    size_t done = 0, errors = 0;
    double cmd_ms[4] = {0, 0, 0, 0};
    const uint64_t t0 = monotonic_ns();
    for (size_t i = first; i < first + n && ms_since(t0) < max_s * 1000; ++i) {
        const std::string src = source_text(i);
        const unsigned exp_ts = static_cast<unsigned>(time(nullptr)) + timeout;
        std::string out;
        uint64_t t = monotonic_ns();
        errors +=
            run_cmd({ipt, "-t", "filter", "-L", kChain, "-n"}, &out, 256) != 0;  // CMD_BUFSIZE
        cmd_ms[0] += ms_since(t);
        t = monotonic_ns();
        out.clear();
        errors += run_cmd({ipt, "-C", "INPUT", "-t", "filter", "-j", kChain}, &out, 256) != 0;
        cmd_ms[1] += ms_since(t);
        t = monotonic_ns();
        out.clear();
        errors += run_cmd(rule_args(ipt, "-C", src, exp_ts), &out, 256) == 0;  // must be absent
        cmd_ms[2] += ms_since(t);
        t = monotonic_ns();
        out.clear();
        errors += run_cmd(rule_args(ipt, "-A", src, exp_ts), &out, 256) != 0;
        cmd_ms[3] += ms_since(t);
        ++done;
    }
    const double total = ms_since(t0);
    const double d = done ? static_cast<double>(done) : 1.0;
    printf(
        "{\"grants\": %zu, \"errors\": %zu, \"first\": %zu, \"total_ms\": %.3f, "
        "\"per_grant_ms\": %.4f, \"forks_per_grant\": 4, \"per_cmd_ms\": {\"list_chain\": %.4f, "
        "\"check_jump\": %.4f, \"check_rule\": %.4f, \"append\": %.4f}}\n",
        done, errors, first, total, total / d, cmd_ms[0] / d, cmd_ms[1] / d, cmd_ms[2] / d,
        cmd_ms[3] / d);
    return errors ? 1 : 0;
}

// check_firewall_rules() for the INPUT chain: list it with rule numbers, and delete every
// rule whose _exp_ stamp has passed by its number (one fork each; numbers shift down by one
// per deletion). fwknopd keeps only STANDARD_CMD_OUT_BUFSIZE (4096) bytes of the listing:
// OUT_BUF 4096 does the same, 0 reads it all.
int fwknop_expire(const Args &a) {
    const std::string ipt = a.at(0);
    const size_t max_deletes = num(a, 1, 0) ? num(a, 1) : SIZE_MAX;  // 0: all
    const size_t keep = num(a, 2, 0) ? num(a, 2) : SIZE_MAX;
    const auto now = static_cast<long long>(time(nullptr));
    const uint64_t t0 = monotonic_ns();
    std::string out;
    int rc = run_cmd({ipt, "-t", "filter", "-L", kChain, "--line-numbers", "-n"}, &out, keep);
    const double list_ms = ms_since(t0);
    size_t seen = 0, deleted = 0, errors = rc != 0, offset = 0;
    const uint64_t t1 = monotonic_ns();
    for (size_t at = out.find("_exp_"); at != std::string::npos && deleted < max_deletes;
         at = out.find("_exp_", at + 5)) {
        ++seen;
        const long long exp = atoll(out.c_str() + at + 5);
        if (exp > now) continue;
        const size_t line = out.rfind('\n', at);
        if (line == std::string::npos) continue;
        const long rule = atol(out.c_str() + line + 1);
        std::string err;
        if (run_cmd({ipt, "-t", "filter", "-D", kChain,
                     std::to_string(rule - static_cast<long>(offset))},
                    &err, 256) == 0) {
            ++offset;
            ++deleted;
        } else {
            ++errors;
        }
    }
    const double del_ms = ms_since(t1);
    printf(
        "{\"listed_bytes\": %zu, \"stamps_seen\": %zu, \"deleted\": %zu, \"errors\": %zu, "
        "\"list_ms\": %.3f, \"delete_ms\": %.3f, \"per_delete_ms\": %.4f, \"pass_ms\": %.3f}\n",
        out.size(), seen, deleted, errors, list_ms, del_ms,
        deleted ? del_ms / static_cast<double>(deleted) : 0.0, ms_since(t0));
    return errors ? 1 : 0;
}

// ---- gates for the SYN path ------------------------------------------------------------

int gate_nft(const Args &a) {
    const std::string ifname = a.at(0);
    const size_t n = num(a, 1);
    auto gate = attach_nft(ifname);
    nft::NftStore store(ifname);
    std::vector<nft::NftStore::GrantRequest> reqs(n);
    for (size_t i = 0; i < n; ++i) reqs[i] = {source(i), {kSsh}, 900};
    reqs.push_back({parse(a.at(2)), {kSsh}, 900});
    size_t failed = 0;
    const uint64_t t0 = monotonic_ns();
    for (int r : store.grant_many(reqs)) failed += r != 0;
    printf("{\"grants\": %zu, \"failed\": %zu, \"grant_many_ms\": %.3f, \"in_kernel\": %zu}\n",
           reqs.size() - failed, failed, ms_since(t0), store.list().size());
    return failed ? 1 : 0;  // the gate stays: fail closed
}

int gate_xdp(const Args &a) {
    const std::string ifname = a.at(0), root = a.at(1);
    const size_t n = num(a, 2);
    policy::Config config;
    policy::Service ssh;
    ssh.name = "ssh";
    ssh.port = kSsh;
    config.services.push_back(ssh);
    gate::GateOptions options{ifname, policy::XdpMode::automatic, root, XK_AUTH_MAX_ENTRIES, 7200};
    options.sequences = false;
    auto gate = gate::Gate::attach(options,
                                   [&](gate::Gate &g) { gate::write_ports(g.ports_fd(), config); });
    auth::Authorized store(gate->authorized_fd());
    store.use_filter(auth::AuthFilter::open(gate->auth_filter_fd()), true);
    size_t failed = 0;
    const uint64_t t0 = monotonic_ns();
    for (size_t i = 0; i < n; ++i)
        failed += store.grant(source(i), {&kSsh, 1}, 900, auth::kHandRange, UINT32_MAX) != 0;
    failed += store.grant(parse(a.at(3)), {&kSsh, 1}, 900, auth::kHandRange, UINT32_MAX) != 0;
    printf(
        "{\"grants\": %zu, \"failed\": %zu, \"grant_ms\": %.3f, \"mode\": \"%s\", "
        "\"dispatcher\": %s, \"in_map\": %zu}\n",
        n + 1 - failed, failed, ms_since(t0), gate->mode_name(),
        gate->in_dispatcher() ? "true" : "false", map_entries(gate->authorized_fd()));
    return failed ? 1 : 0;
}

int counters_nft(const Args &a) {
    const nft::Counters c = nft::NftGate::counters_of(a.at(0));
    printf("{\"dropped\": %llu, \"passed\": %llu}\n",
           static_cast<unsigned long long>(c.dropped_packets),
           static_cast<unsigned long long>(c.passed_packets));
    return 0;
}

int counters_xdp(const Args &a) {
    const std::string path = gate::pin_dir_for(a.at(1), a.at(0)) + "/" XK_MAP_COUNTERS;
    const int fd = bpf_obj_get(path.c_str());
    if (fd < 0) throw std::runtime_error(path + ": " + strerror(errno));
    const gate::Counters c = gate::read_counters(fd);
    printf("{\"syn_drop\": %llu, \"syn_pass\": %llu, \"tcp_flow_pass\": %llu}\n",
           static_cast<unsigned long long>(c[XK_CNT_SYN_DROP]),
           static_cast<unsigned long long>(c[XK_CNT_SYN_PASS]),
           static_cast<unsigned long long>(c[XK_CNT_TCP_FLOW_PASS]));
    close(fd);
    return 0;
}

int detach_xdp(const Args &a) {
    printf("{\"detached\": \"%s\"}\n", gate::detach(a.at(1), a.at(0)).c_str());
    return 0;
}

// ---- traffic ---------------------------------------------------------------------------

int serve(const Args &a) {
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(num(a, 0)));
    if (bind(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0 || listen(s, 4096) != 0)
        throw std::runtime_error("bind/listen: " + std::string(strerror(errno)));
    fprintf(stderr, "listening\n");
    const uint64_t end = monotonic_ns() + num(a, 1) * 1000000000ull;
    size_t accepted = 0;
    while (monotonic_ns() < end) {
        pollfd p{s, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        for (int c; (c = accept4(s, nullptr, nullptr, 0)) >= 0; ++accepted) close(c);
    }
    printf("{\"accepted\": %zu}\n", accepted);
    return 0;
}

int connect_loop(const Args &a) {
    sockaddr_in src{}, dst{};
    src.sin_family = dst.sin_family = AF_INET;
    inet_pton(AF_INET, a.at(0).c_str(), &src.sin_addr);
    inet_pton(AF_INET, a.at(1).c_str(), &dst.sin_addr);
    dst.sin_port = htons(static_cast<uint16_t>(num(a, 2)));
    const size_t count = num(a, 3);
    const linger rst{1, 0};  // close() sends RST: no TIME_WAIT piles up between the runs
    std::vector<double> us;
    size_t failed = 0;
    auto one = [&]() -> bool {
        const int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        setsockopt(s, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
        bool ok = bind(s, reinterpret_cast<sockaddr *>(&src), sizeof src) == 0;
        if (ok && connect(s, reinterpret_cast<sockaddr *>(&dst), sizeof dst) != 0) {
            ok = errno == EINPROGRESS;
            pollfd p{s, POLLOUT, 0};
            int err = 0;
            socklen_t len = sizeof err;
            ok = ok && poll(&p, 1, 1000) == 1 &&
                 getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
        }
        close(s);
        return ok;
    };
    for (int i = 0; i < 20; ++i) one();  // ARP, caches
    const uint64_t t0 = monotonic_ns();
    for (size_t i = 0; i < count; ++i) {
        const uint64_t t = monotonic_ns();
        if (!one()) ++failed;
        us.push_back(static_cast<double>(monotonic_ns() - t) / 1e3);
    }
    const double total = ms_since(t0);
    std::sort(us.begin(), us.end());
    auto pct = [&](double p) {
        return us.empty() ? 0.0
                          : us[std::min(us.size() - 1,
                                        static_cast<size_t>(p * static_cast<double>(us.size())))];
    };
    printf(
        "{\"connects\": %zu, \"failed\": %zu, \"total_ms\": %.3f, \"connects_per_s\": %.0f, "
        "\"p50_us\": %.1f, \"p99_us\": %.1f}\n",
        count, failed, total, static_cast<double>(count) * 1000 / total, pct(0.5), pct(0.99));
    return 0;
}

uint16_t csum(const void *data, size_t len, uint32_t sum = 0) {
    const auto *p = static_cast<const uint8_t *>(data);
    for (; len > 1; p += 2, len -= 2) sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
    if (len) sum += static_cast<uint32_t>(p[0] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

int syn(const Args &a) {
    const std::string ifname = a.at(0);
    const unsigned ifindex = if_nametoindex(ifname.c_str());
    const int s = socket(AF_PACKET, SOCK_RAW, 0);
    if (s < 0 || !ifindex) throw std::runtime_error("packet socket on " + ifname);
    const int one = 1;
    setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(ifindex);
    to.sll_protocol = htons(ETH_P_IP);
    ifreq ifr{};
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
    if (ioctl(s, SIOCGIFHWADDR, &ifr) != 0) throw std::runtime_error("SIOCGIFHWADDR");
    uint8_t frame[14 + 20 + 20] = {};
    unsigned m[6];
    if (sscanf(a.at(1).c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
        throw std::runtime_error("bad MAC");
    for (int i = 0; i < 6; ++i) frame[i] = static_cast<uint8_t>(m[i]);
    memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
    frame[12] = 0x08;
    auto *ip = reinterpret_cast<iphdr *>(frame + 14);
    ip->version = 4;
    ip->ihl = 5;
    ip->tot_len = htons(40);
    ip->ttl = 64;
    ip->protocol = IPPROTO_TCP;
    inet_pton(AF_INET, a.at(2).c_str(), &ip->saddr);
    inet_pton(AF_INET, a.at(3).c_str(), &ip->daddr);
    ip->check = htons(csum(ip, 20));
    auto *tcp = reinterpret_cast<tcphdr *>(frame + 34);
    tcp->dest = htons(static_cast<uint16_t>(num(a, 4)));
    tcp->doff = 5;
    tcp->syn = 1;
    tcp->window = htons(64240);
    const size_t count = num(a, 5);
    size_t sent = 0, retries = 0;
    uint8_t pseudo[12];
    memcpy(pseudo, &ip->saddr, 4);
    memcpy(pseudo + 4, &ip->daddr, 4);
    pseudo[8] = 0, pseudo[9] = IPPROTO_TCP, pseudo[10] = 0, pseudo[11] = 20;
    const uint64_t t0 = monotonic_ns();
    for (size_t i = 0; i < count; ++i) {
        tcp->source = htons(static_cast<uint16_t>(1024 + i % 60000));
        tcp->seq = htonl(static_cast<uint32_t>(i * 7919));
        tcp->check = 0;
        uint32_t sum = 0;
        for (int k = 0; k < 12; k += 2)
            sum += static_cast<uint32_t>(pseudo[k] << 8 | pseudo[k + 1]);
        tcp->check = htons(csum(tcp, 20, sum));
        while (sendto(s, frame, sizeof frame, 0, reinterpret_cast<sockaddr *>(&to), sizeof to) <
               0) {
            if (errno != ENOBUFS && errno != EAGAIN) throw std::runtime_error("sendto");
            ++retries;
        }
        ++sent;
    }
    const double total = ms_since(t0);
    printf("{\"sent\": %zu, \"retries\": %zu, \"total_ms\": %.3f, \"ns_per_syn\": %.1f}\n", sent,
           retries, total, total * 1e6 / static_cast<double>(sent));
    close(s);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SUBCOMMAND ARGS... (see the source's head)\n", argv[0]);
        return 2;
    }
    xk::log::set_level(xk::log::Level::warn);
    const std::string cmd = argv[1];
    const Args args(argv + 2, argv + argc);
    try {
        if (cmd == "apply-nft") return apply_nft(args);
        if (cmd == "expire-nft") return expire_nft(args);
        if (cmd == "apply-xdp") return apply_xdp(args);
        if (cmd == "expire-xdp") return expire_xdp(args);
        if (cmd == "fwknop-apply") return fwknop_apply(args);
        if (cmd == "fwknop-expire") return fwknop_expire(args);
        if (cmd == "gate-nft") return gate_nft(args);
        if (cmd == "gate-xdp") return gate_xdp(args);
        if (cmd == "counters-nft") return counters_nft(args);
        if (cmd == "counters-xdp") return counters_xdp(args);
        if (cmd == "detach-xdp") return detach_xdp(args);
        if (cmd == "serve") return serve(args);
        if (cmd == "connect") return connect_loop(args);
        if (cmd == "syn") return syn(args);
    } catch (const std::exception &e) {
        fprintf(stderr, "%s: %s\n", cmd.c_str(), e.what());
        return 1;
    }
    fprintf(stderr, "unknown subcommand %s\n", cmd.c_str());
    return 2;
}
