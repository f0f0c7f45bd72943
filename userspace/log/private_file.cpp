#include "log/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace xk {

std::string write_private_file(const std::string &path, std::string_view text) {
    const std::string tmp = path + ".tmp";
    unlink(tmp.c_str());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
              write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              fsync(fd) == 0;
    int err = errno;
    if (fd >= 0) close(fd);
    if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) return "";
    if (ok) err = errno;
    unlink(tmp.c_str());
    return path + ": " + std::strerror(err);
}

}  // namespace xk
