#include "cli/send.hpp"

#include <chrono>
#include <ctime>
#include <thread>

#include "cli/fwknoprc.hpp"
#include "cli/keygen.hpp"
#include "cli/knock_socket.hpp"
#include "spa/base64.hpp"
#include "spa/fko_encode.hpp"
#include "spa/fko_types.hpp"

namespace xk::cli {
namespace {

int build_fko(const SendFlags &f, const std::vector<policy::Secret> &secrets, uint16_t port,
              std::vector<uint8_t> &payload) {
    std::string allow = f.any_source ? "0.0.0.0" : f.allow_ip;
    if (allow.empty()) allow = local_address_toward(f.host, port);
    if (allow.empty()) {
        fprintf(stderr,
                "xdpknock: no route to %s: sending allow-IP 0.0.0.0 (the gateway "
                "authorizes the packet's source)\n",
                f.host.c_str());
        allow = "0.0.0.0";
    }
    std::string message = allow;
    for (const auto &a : f.access) message += "," + a;

    auto digest = spa::parse_digest_type(f.digest);
    if (!digest) throw CLI::ValidationError("--digest-type", "unknown: " + f.digest);
    spa::FkoRequest req;
    req.user = f.user;
    req.timestamp = time(nullptr);
    req.message = message;
    req.digest = *digest;
    if (f.client_timeout) {
        req.type = spa::MsgType::client_timeout_access;
        req.client_timeout = f.client_timeout;
    }
    // The first secret is the newest: the one a rotating gateway lists first.
    std::string error;
    spa::Reject r = spa::fko_knock(secrets.front().fko, req, payload, error);
    if (!error.empty()) throw CLI::ValidationError("keys", error);
    if (r != spa::Reject::ok) {
        fprintf(stderr, "xdpknock: cannot encode the knock: %s\n", spa::reject_name(r));
        return 2;
    }
    return 0;
}

// The plain secret, best from a file: an argument is visible to every local user.
void plain_secret(const SendFlags &f, std::vector<uint8_t> &payload) {
    if (!f.secret_file.empty()) {
        std::string text = read_secret_input(f.secret_file);
        if (!text.empty() && text.back() == '\n') text.pop_back();  // echo's, not the secret's
        payload.assign(text.begin(), text.end());
        if (payload.empty()) throw CLI::ValidationError("--secret-file", "the secret is empty");
        return;
    }
    if (!f.secret.empty()) warn_secret_argument("--secret", "--secret-file");
    if (!f.secret_b64.empty()) warn_secret_argument("--secret-base64", "--secret-file");
    payload.assign(f.secret.begin(), f.secret.end());
    if (!f.secret_b64.empty() && !spa::secret_from_base64(f.secret_b64, payload)) {
        throw CLI::ValidationError("--secret-base64", "not base64");
    }
    if (payload.empty()) {
        throw CLI::ValidationError("--secret", "give --secret-file, --secret or --secret-base64");
    }
}

// The stanza's settings where the command line left them unset (fwknop's order: flags
// over the named stanza over [default]). Returns the stanza's keys, if it has them.
std::optional<policy::Secret> apply_fwknoprc(SendFlags &f) {
    std::string path = f.rc_file.empty() ? default_fwknoprc_path() : f.rc_file;
    RcSettings rc = parse_fwknoprc(policy::read_secret_file(path), path, f.rc_name);
    if (f.given("--method") && f.method != "fko")
        throw CLI::ValidationError("-n", "a .fwknoprc stanza makes fko knocks, not " + f.method);
    f.method = "fko";
    if (f.host.empty() && f.destination.empty() && rc.server) f.host = *rc.server;
    if (!f.given("--port") && rc.port) f.port = *rc.port;
    if (!f.given("--allow-ip") && !f.given("--source-ip")) {
        if (rc.allow_ip) f.allow_ip = *rc.allow_ip;
        f.any_source = rc.allow_source;
    }
    if (!f.given("--access") && rc.access) f.access = *rc.access;
    if (!f.given("--spoof-user") && rc.user) f.user = *rc.user;
    if (!f.given("--digest-type") && rc.digest) f.digest = *rc.digest;
    if (!f.given("--fw-timeout") && rc.client_timeout) f.client_timeout = *rc.client_timeout;
    return rc.secret;
}

bool keys_given(const SendFlags &f) {
    for (const char *flag : {"--key-rijndael", "--key-base64-rijndael", "--key-file", "--config"})
        if (f.given(flag)) return true;
    return false;
}

// The knock's bytes, fresh each call (an fko knock is never sent twice).
int build_payload(const SendFlags &f, const std::vector<policy::Secret> &secrets, uint16_t port,
                  std::vector<uint8_t> &payload) {
    if (f.method == "fko") return build_fko(f, secrets, port, payload);
    plain_secret(f, payload);
    return 0;
}

int send_knocks(const SendFlags &f, const std::vector<policy::Secret> &secrets, uint16_t port) {
    using namespace std::chrono;
    const auto start = steady_clock::now();
    const auto until = start + seconds(f.timeout_s);
    for (;;) {
        std::vector<uint8_t> payload;
        if (int rc = build_payload(f, secrets, port, payload)) return rc;
        std::string error;
        if (send_knock(f.host, port, payload, error) != 0) {
            fprintf(stderr, "xdpknock: %s\n", error.c_str());
            return 1;
        }
        if (!f.repeat_ms || steady_clock::now() + milliseconds(f.repeat_ms) > until) break;
        std::this_thread::sleep_for(milliseconds(f.repeat_ms));
    }
    std::this_thread::sleep_for(milliseconds(f.delay_ms));
    return 0;
}

}  // namespace

void SendFlags::add_to(CLI::App &a) {
    app = &a;
    auto *h = a.add_option("host", host, "gateway address or name");
    a.add_option("-D,--destination", destination, "the gateway (fwknop's spelling)")->excludes(h);
    a.add_option("-p,--port,--server-port", port,
                 "UDP knock port (default: the range's or stanza's, else 62201)");
    a.add_option("-P,--server-proto", server_proto, "knock transport: udp")
        ->check(CLI::IsMember({"udp"}));
    a.add_option("-m,--method", method, "plain or fko")->check(CLI::IsMember({"plain", "fko"}));
    auto *s = a.add_option("--secret", secret, "plain: the secret (text)");
    auto *b = a.add_option("--secret-base64", secret_b64, "plain: the secret (base64 bytes)")
                  ->excludes(s);
    a.add_option("--secret-file", secret_file,
                 "plain: read the secret from FILE (its bytes, one trailing newline dropped; "
                 "mode 0600; - reads stdin)")
        ->excludes(s)
        ->excludes(b);
    keys.add_to(a);
    a.add_option("-n,--named-config", rc_name,
                 "fko: take the settings from this ~/.fwknoprc stanza");
    a.add_option("--rc-file", rc_file, "…from this file instead of ~/.fwknoprc");
    a.add_flag("--key-gen", key_gen, "print fresh fko keys and send nothing");
    a.add_option("-A,--access", access, "fko: proto/port to open (repeat)")->delimiter(',');
    auto *ai =
        a.add_option("-a,--allow-ip", allow_ip,
                     "fko: allow-IP (default: our source address toward HOST, IPv4 or IPv6)");
    a.add_flag("-s,--source-ip", any_source, "fko: allow-IP 0.0.0.0")->excludes(ai);
    a.add_option("-U,--spoof-user", user, "fko: user name in the packet");
    a.add_option("-f,--fw-timeout", client_timeout, "fko: ask for this many seconds");
    a.add_option("--digest-type", digest, "fko: inner digest (sha256 default)");
    a.add_option("--knock-delay-ms", delay_ms, "wait this long after the knock before exiting");
    a.add_option("--knock-repeat-ms", repeat_ms, "send a fresh knock every MS …");
    a.add_option("--knock-timeout-s", timeout_s, "… until this many seconds have passed (10)");
}

int run_send(const SendFlags &flags) {
    if (flags.key_gen) return run_fwknop_keygen();
    SendFlags f = flags;
    std::optional<policy::Secret> rc_secret;
    if (!f.rc_name.empty()) rc_secret = apply_fwknoprc(f);
    if (!f.destination.empty()) f.host = f.destination;
    if (f.host.empty())
        throw CLI::ValidationError("host",
                                   "give the gateway: HOST, -D HOST, or -n with a stanza "
                                   "that has SPA_SERVER");
    uint16_t range_port = 0;
    std::vector<policy::Secret> secrets;
    if (f.method == "fko") {
        secrets =
            rc_secret && !keys_given(f) ? std::vector{*rc_secret} : f.keys.secrets(&range_port);
    }
    uint16_t port = f.port ? f.port : range_port ? range_port : 62201;
    return send_knocks(f, secrets, port);
}

}  // namespace xk::cli
