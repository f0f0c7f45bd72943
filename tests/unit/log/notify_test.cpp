// sd_notify messages reach a NOTIFY_SOCKET we bind (as systemd would), and nothing is sent
// when the variable is unset.
#include "log/notify.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace {

// An abstract AF_UNIX datagram socket ("@name" in NOTIFY_SOCKET): no file to clean up.
class NotifySocket : public ::testing::Test {
  protected:
    void SetUp() override {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd_, 0);
        name_ = "xk-notify-test-" + std::to_string(getpid());
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        name_.copy(sa.sun_path + 1, name_.size());  // sun_path[0] = 0: abstract
        const socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + name_.size();
        ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr *>(&sa), len), 0);
        setenv("NOTIFY_SOCKET", ("@" + name_).c_str(), 1);
    }
    void TearDown() override {
        unsetenv("NOTIFY_SOCKET");
        close(fd_);
    }
    // The next datagram, or "" when none arrives within `ms`.
    std::string receive(int ms = 1000) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, ms) != 1) return "";
        char buf[512];
        const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
        return n > 0 ? std::string(buf, size_t(n)) : "";
    }
    int fd_ = -1;
    std::string name_;
};

TEST_F(NotifySocket, ReadyArrivesWithStatus) {
    EXPECT_TRUE(xk::log::notify_ready("running: 1 range(s)"));
    EXPECT_EQ(receive(), "READY=1\nSTATUS=running: 1 range(s)");
}

TEST_F(NotifySocket, StoppingAndStatusAlone) {
    EXPECT_TRUE(xk::log::notify_stopping("stopping: the gates stay attached"));
    EXPECT_EQ(receive(), "STOPPING=1\nSTATUS=stopping: the gates stay attached");
    EXPECT_TRUE(xk::log::notify_status("3 authorized"));
    EXPECT_EQ(receive(), "STATUS=3 authorized");
}

TEST_F(NotifySocket, ReloadingCarriesItsMonotonicTimeThenReady) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    EXPECT_TRUE(xk::log::notify_reloading("reloading"));
    const std::string msg = receive();
    ASSERT_EQ(msg.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << msg;
    const uint64_t usec = std::stoull(msg.substr(msg.find('=', 12) + 1));
    EXPECT_GE(usec, uint64_t(now.tv_sec) * 1000000);
    EXPECT_NE(msg.find("\nSTATUS=reloading"), std::string::npos) << msg;
    EXPECT_TRUE(xk::log::notify_ready("running"));
    EXPECT_EQ(receive(), "READY=1\nSTATUS=running");
}

TEST_F(NotifySocket, NewlineInStatusCannotAddAnAssignment) {
    EXPECT_TRUE(xk::log::notify_status("bad\nREADY=1"));
    EXPECT_EQ(receive(), "STATUS=bad READY=1");
}

TEST_F(NotifySocket, NothingIsSentWithoutNotifySocket) {
    unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(xk::log::notify_ready("running"));
    EXPECT_FALSE(xk::log::notify_stopping("stopping"));
    EXPECT_EQ(receive(200), "");
}

TEST_F(NotifySocket, AnAbsentManagerIsNotAnError) {
    setenv("NOTIFY_SOCKET", ("@" + name_ + "-nobody").c_str(), 1);
    EXPECT_FALSE(xk::log::notify_ready("running"));
    EXPECT_EQ(receive(200), "");
}

}  // namespace
