#include "cli/send.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "spa/base64.hpp"
#include "spa/fko_encode.hpp"
#include "spa/fko_types.hpp"

namespace xk::cli {
namespace {

// The local IPv4 address the kernel would send from toward host, for the fko allow-IP.
std::string local_ipv4_toward(const std::string &host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo *res = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return "";
    std::string out;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    char buf[INET_ADDRSTRLEN] = {};
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&local), &len) == 0 &&
        inet_ntop(AF_INET, &local.sin_addr, buf, sizeof(buf))) {
        out = buf;
    }
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return out;
}

int build_fko(const SendFlags &f, uint16_t &port, std::vector<uint8_t> &payload) {
    uint16_t range_port = 0;
    auto secrets = f.keys.secrets(&range_port);
    if (!port) port = range_port;
    std::string error;
    // The first secret is the newest: the one a rotating gateway lists first.
    auto ctx = spa::FkoKeyContext::create(secrets.front().fko, error);
    if (!ctx) throw CLI::ValidationError("keys", error);

    std::string allow = f.any_source ? "0.0.0.0" : f.allow_ip;
    if (allow.empty()) allow = local_ipv4_toward(f.host, port ? port : 62201);
    if (allow.empty()) {
        fprintf(stderr,
                "xdpknock: no IPv4 route to %s: sending allow-IP 0.0.0.0 (the gateway "
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
    std::string out(spa::kMaxEncoded, '\0');
    size_t n = 0;
    spa::Reject r = spa::fko_encode(*ctx, req, out, n);
    if (r != spa::Reject::ok) {
        fprintf(stderr, "xdpknock: cannot encode the knock: %s\n", spa::reject_name(r));
        return 2;
    }
    payload.assign(out.begin(), out.begin() + static_cast<long>(n));
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

}  // namespace

void SendFlags::add_to(CLI::App &app) {
    app.add_option("host", host, "gateway address or name")->required();
    app.add_option("-p,--port", port, "UDP knock port (default: the range's, else 62201)");
    app.add_option("-m,--method", method, "plain or fko")->check(CLI::IsMember({"plain", "fko"}));
    auto *s = app.add_option("--secret", secret, "plain: the secret (text)");
    auto *b = app.add_option("--secret-base64", secret_b64, "plain: the secret (base64 bytes)")
                  ->excludes(s);
    app.add_option("--secret-file", secret_file,
                   "plain: read the secret from FILE (its bytes, one trailing newline dropped; "
                   "mode 0600; - reads stdin)")
        ->excludes(s)
        ->excludes(b);
    keys.add_to(app);
    app.add_option("-A,--access", access, "fko: proto/port to open (repeat)")->delimiter(',');
    auto *a = app.add_option("-a,--allow-ip", allow_ip, "fko: allow-IP (default: our IPv4 source)");
    app.add_flag("-s,--source-ip", any_source, "fko: allow-IP 0.0.0.0")->excludes(a);
    app.add_option("-U,--spoof-user", user, "fko: user name in the packet");
    app.add_option("-f,--fw-timeout", client_timeout, "fko: ask for this many seconds");
    app.add_option("--digest-type", digest, "fko: inner digest (sha256 default)");
}

int run_send(const SendFlags &f) {
    std::vector<uint8_t> payload;
    uint16_t port = f.port;
    if (f.method == "fko") {
        if (int rc = build_fko(f, port, payload)) return rc;
    } else {
        plain_secret(f, payload);
    }
    std::string error;
    if (send_knock(f.host, port ? port : 62201, payload, error) != 0) {
        fprintf(stderr, "xdpknock: %s\n", error.c_str());
        return 1;
    }
    return 0;
}

int send_knock(const std::string &host, uint16_t port, std::span<const uint8_t> payload,
               std::string &error) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo *res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
        error = host + ": " + gai_strerror(rc);
        return EINVAL;
    }
    int err = EHOSTUNREACH;
    for (addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        ssize_t n = sendto(fd, payload.data(), payload.size(), 0, a->ai_addr, a->ai_addrlen);
        err = n == static_cast<ssize_t>(payload.size()) ? 0 : errno;
        close(fd);
        if (err == 0) break;
    }
    freeaddrinfo(res);
    if (err) error = host + ": " + std::strerror(err);
    return err;
}

}  // namespace xk::cli
