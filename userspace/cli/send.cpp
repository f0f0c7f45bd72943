#include "cli/send.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xk::cli {

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
