// The gate on real packets: a client namespace reaches this one over a veth pair. A SYN to
// a protected port without a grant is dropped (the connect times out: no RST); a grant
// lets it through; an established connection outlives its revoke; knocks get no answer.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "nft/nft_store.hpp"

bool nft_test_netns();

namespace xk::nft {
namespace {

constexpr uint16_t kService = 2222, kOpenPort = 2223, kKnock = 62201;
constexpr const char *kServer = "10.99.0.1", *kClient = "10.99.0.2";

// The client's namespace: made by a thread (unshare applies to it alone) and kept by an fd;
// each client step runs on a thread that joins it.
class ClientNs {
  public:
    ClientNs() {
        run([this] {
            if (unshare(CLONE_NEWNET) != 0) return;
            fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
            // The pair from here: its peer lands in the test's namespace (our process's).
            const std::string pid = std::to_string(getpid());
            ok_ = std::system(("ip link add xkc0 type veth peer name xkg0 netns " + pid +
                               " && ip addr add 10.99.0.2/24 dev xkc0 && ip link set xkc0 up"
                               " && ip link set lo up")
                                  .c_str()) == 0;
        });
    }
    ~ClientNs() {
        if (fd_ >= 0) close(fd_);
    }
    bool ok() const { return ok_; }
    void run(const std::function<void()> &fn) {
        std::thread t([&] {
            if (fd_ >= 0 && setns(fd_, CLONE_NEWNET) != 0) return;
            fn();
        });
        t.join();
    }

  private:
    int fd_ = -1;
    bool ok_ = false;
};

sockaddr_in server_addr(uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, kServer, &sa.sin_addr);
    return sa;
}

// A TCP connect that gives up after timeout_ms: 0 and the socket in fd, or -errno.
int connect_within(uint16_t port, int timeout_ms, int &fd) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa = server_addr(port);
    if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0 && errno != EINPROGRESS)
        return -errno;
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) == 0) {
        close(fd);
        fd = -1;
        return -ETIMEDOUT;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) close(fd), fd = -1;
    return -err;
}

// A datagram to port, then what came back within timeout_ms: -ECONNREFUSED (an ICMP port
// unreachable) or -EAGAIN (nothing).
int udp_answer(uint16_t port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa = server_addr(port);
    connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa));
    send(fd, "knock", 5, 0);
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, timeout_ms);
    char b[16];
    int rc = recv(fd, b, sizeof(b), MSG_DONTWAIT) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int listener(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa = server_addr(port);
    if (bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0 || listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

TEST(NftPacket, SynDroppedUntilGrantedAndEstablishedOutlivesRevoke) {
    ASSERT_TRUE(nft_test_netns()) << "needs a network namespace of its own (root)";
    ClientNs client;
    ASSERT_TRUE(client.ok()) << "cannot build the veth pair";
    ASSERT_EQ(std::system("ip addr add 10.99.0.1/24 dev xkg0 && ip link set xkg0 up"), 0);
    int lfd = listener(kService);
    ASSERT_GE(lfd, 0);
    auto gate = NftGate::attach({"xkg0", {{IPPROTO_TCP, kService}}, {{IPPROTO_UDP, kKnock}}});
    NftStore store("xkg0", {{10, 10}}, 1000);

    int fd = -1, before = 0, refused = 0, knock = 0, closed = 0;
    client.run([&] {
        refused = connect_within(kOpenPort, 2000, fd);  // unprotected: the kernel's RST
        before = connect_within(kService, 700, fd);
        knock = udp_answer(kKnock, 300);
        closed = udp_answer(kKnock + 1, 2000);
    });
    EXPECT_EQ(refused, -ECONNREFUSED);
    EXPECT_EQ(before, -ETIMEDOUT);  // dropped: no RST, nothing
    EXPECT_EQ(knock, -EAGAIN);
    EXPECT_EQ(closed, -ECONNREFUSED);

    const policy::PortRef service{IPPROTO_TCP, kService};
    ASSERT_EQ(store.grant(*policy::parse_address(kClient), {&service, 1}, 60, 0, 0), 0);
    int after = 0;
    client.run([&] { after = connect_within(kService, 2000, fd); });
    ASSERT_EQ(after, 0);
    EXPECT_EQ(store.revoke(*policy::parse_address(kClient)), 1u);
    ASSERT_EQ(send(fd, "still here", 10, MSG_NOSIGNAL), 10);
    int conn = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(conn, 0);
    pollfd p{conn, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    char buf[16] = {};
    EXPECT_EQ(recv(conn, buf, sizeof(buf), 0), 10);
    int again = 0, fd2 = -1;
    client.run([&] { again = connect_within(kService, 700, fd2); });
    EXPECT_EQ(again, -ETIMEDOUT);

    Counters c = gate->counters();
    EXPECT_GE(c.dropped_packets, 2u);
    EXPECT_EQ(c.passed_packets, 1u);
    EXPECT_EQ(c.knocks_dropped_packets, 1u);
    close(conn);
    close(fd);
    close(lfd);
}

}  // namespace
}  // namespace xk::nft
