#include "cli/knock_socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xk::cli {

std::string local_address_toward(const std::string &host, uint16_t port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo *res = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return "";
    std::string out;
    // The first address, as send_knock sends to it first.
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    char buf[INET6_ADDRSTRLEN] = {};
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&local), &len) == 0) {
        const void *a =
            local.ss_family == AF_INET6
                ? static_cast<const void *>(&reinterpret_cast<sockaddr_in6 *>(&local)->sin6_addr)
                : static_cast<const void *>(&reinterpret_cast<sockaddr_in *>(&local)->sin_addr);
        if (inet_ntop(local.ss_family, a, buf, sizeof(buf))) out = buf;
    }
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return out;
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
