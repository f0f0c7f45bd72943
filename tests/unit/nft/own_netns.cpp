// Linked into every nft test binary: moves the process into a network namespace of its own
// before main() (and before any thread: unshare(CLONE_NEWNET) applies to the calling thread
// only), so rulesets load into a scratch kernel table, never the host's. Without the rights
// (not root) every test fails: they assert nft_test_netns().
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace {

bool bring_lo_up() {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    close(fd);
    return ok;
}

const bool in_own_netns = [] {
    if (unshare(CLONE_NEWNET) != 0) {
        std::perror("nft tests: unshare(CLONE_NEWNET) (the tests fail)");
        return false;
    }
    return bring_lo_up();
}();

}  // namespace

bool nft_test_netns() {
    return in_own_netns;
}
