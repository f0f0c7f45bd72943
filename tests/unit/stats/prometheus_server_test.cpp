// The metrics endpoint: GET /metrics serves the render function's text with the 0.0.4
// content type, everything else is 404 (405 for another method); it binds metrics.listen
// alone and exclusively, says why when it cannot, stalled clients hold it for seconds at
// most and it holds 8 connections at most. Served by the build tree's xdpknock-metrics.so,
// dlopened as the daemon does; a module that cannot load fails naming metrics.listen.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "daemon/metrics_server.hpp"

using xk::daemon::MetricsServer;
using xk::policy::Metrics;

namespace {

const Metrics kAnyPort{"127.0.0.1", 0, false};

// The endpoint as the daemon runs it, from the build tree's module (the installed layout's
// path, beside the executable, does not hold for a test's executable).
struct Server : MetricsServer {
    Server(const Metrics &config, Render render)
        : MetricsServer(config, std::move(render), XK_METRICS_MODULE) {}
};

// start()'s error, or "" when it started.
std::string start_error(MetricsServer &server) {
    try {
        server.start();
    } catch (const std::runtime_error &e) {
        return e.what();
    }
    return "";
}

size_t open_fds() {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                             std::filesystem::directory_iterator()));
}

// A plain TCP socket, closed on scope exit; connect() or listen() on 127.0.0.x.
struct Socket {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    Socket() = default;
    Socket(const Socket &) = delete;
    Socket &operator=(const Socket &) = delete;
    ~Socket() { close(fd); }
    sockaddr_in addr(const char *ip, uint16_t port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        inet_pton(AF_INET, ip, &a.sin_addr);
        return a;
    }
    bool connect_to(const char *ip, uint16_t port) {
        sockaddr_in a = addr(ip, port);
        return connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0;
    }
    uint16_t listen_any(const char *ip) {
        sockaddr_in a = addr(ip, 0);
        socklen_t len = sizeof(a);
        if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0 || listen(fd, 1) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
            return 0;
        return ntohs(a.sin_port);
    }
};

TEST(MetricsServer, GetMetricsServesTheRenderOutput) {
    std::atomic<int> calls{0};
    Server server(kAnyPort, [&] { return "xk_test " + std::to_string(++calls) + "\n"; });
    server.start();
    ASSERT_NE(server.port(), 0);
    httplib::Client client("127.0.0.1", server.port());
    for (int i = 1; i <= 2; ++i) {  // rendered per request, not once
        auto res = client.Get("/metrics");
        ASSERT_TRUE(res) << httplib::to_string(res.error());
        EXPECT_EQ(res->status, 200);
        EXPECT_EQ(res->body, "xk_test " + std::to_string(i) + "\n");
        EXPECT_EQ(res->get_header_value("Content-Type"),
                  "text/plain; version=0.0.4; charset=utf-8");
    }
}

TEST(MetricsServer, AnythingElseIs404) {
    std::atomic<int> calls{0};
    Server server(kAnyPort, [&] {
        ++calls;
        return std::string("x 1\n");
    });
    server.start();
    httplib::Client client("127.0.0.1", server.port());
    for (const char *path : {"/", "/other", "/metrics/x", "/metricsx", "/stats.json"}) {
        auto res = client.Get(path);
        ASSERT_TRUE(res) << path;
        EXPECT_EQ(res->status, 404) << path;
    }
    EXPECT_EQ(calls.load(), 0);
}

// GET alone renders: another method on /metrics is 405 naming GET, and never renders.
TEST(MetricsServer, OtherMethodsAre405) {
    std::atomic<int> calls{0};
    Server server(kAnyPort, [&] {
        ++calls;
        return std::string("x 1\n");
    });
    server.start();
    httplib::Client client("127.0.0.1", server.port());
    const auto is_405 = [](const httplib::Result &res) {
        ASSERT_TRUE(res) << httplib::to_string(res.error());
        EXPECT_EQ(res->status, 405);
        EXPECT_EQ(res->get_header_value("Allow"), "GET");
    };
    is_405(client.Post("/metrics", "x", "text/plain"));
    is_405(client.Head("/metrics"));
    is_405(client.Put("/metrics", "x", "text/plain"));
    is_405(client.Delete("/metrics"));
    is_405(client.Options("/metrics"));
    EXPECT_EQ(calls.load(), 0);
}

// httplib's limits hold: a request line over 8 KiB is refused, never rendered.
TEST(MetricsServer, LongRequestLineIsRefused) {
    std::atomic<int> calls{0};
    Server server(kAnyPort, [&] {
        ++calls;
        return std::string("x 1\n");
    });
    server.start();
    httplib::Client client("127.0.0.1", server.port());
    auto res = client.Get("/metrics?" + std::string(10000, 'x'));
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 414);
    EXPECT_EQ(calls.load(), 0);
}

// Bound to 127.0.0.1 alone: another loopback address of this host gets no answer.
TEST(MetricsServer, BindsOnlyTheConfiguredAddress) {
    Server server(kAnyPort, [] { return std::string("x 1\n"); });
    server.start();
    Socket there, elsewhere;
    EXPECT_TRUE(there.connect_to("127.0.0.1", server.port()));
    EXPECT_FALSE(elsewhere.connect_to("127.0.0.2", server.port()));
}

TEST(MetricsServer, PortInUseThrowsNamingListen) {
    Socket taken;
    const uint16_t port = taken.listen_any("127.0.0.1");
    ASSERT_NE(port, 0);
    Server server({"127.0.0.1", port, false}, [] { return std::string(); });
    try {
        server.start();
        FAIL() << "bound a port in use";
    } catch (const std::runtime_error &e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("metrics.listen"), std::string::npos) << what;
        EXPECT_NE(what.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << what;
        EXPECT_NE(what.find("Address already in use"), std::string::npos) << what;
    }
}

// httplib's default socket options set SO_REUSEPORT: a second daemon would then share the
// port and answer half the scrapes with its own figures.
TEST(MetricsServer, SecondServerOnTheSamePortThrows) {
    Server first(kAnyPort, [] { return std::string("first 1\n"); });
    first.start();
    Server second({"127.0.0.1", first.port(), false}, [] { return std::string(); });
    EXPECT_THROW(second.start(), std::runtime_error);
}

TEST(MetricsServer, AddressNotOfThisHostThrows) {
    Server server({"192.0.2.1", 9642, true}, [] { return std::string(); });
    try {
        server.start();
        FAIL() << "bound an address this host lacks";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("metrics.listen: cannot listen on 192.0.2.1:9642: "),
                  std::string::npos)
            << e.what();
    }
}

TEST(MetricsServer, Ipv6Loopback) {
    Server server({"::1", 0, false}, [] { return std::string("v6 1\n"); });
    try {
        server.start();
    } catch (const std::runtime_error &e) {
        GTEST_SKIP() << "no IPv6 loopback: " << e.what();
    }
    httplib::Client client("::1", server.port());
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->body, "v6 1\n");
}

// Two request threads, both held by clients that send half a request and stall: the read
// timeout (2 s) frees one, so a scrape waits about that long, not httplib's 5 s default.
TEST(MetricsServer, StalledClientsDoNotPinIt) {
    Server server(kAnyPort, [] { return std::string("x 1\n"); });
    server.start();
    std::vector<Socket> stalled(3);
    for (Socket &s : stalled) {
        ASSERT_TRUE(s.connect_to("127.0.0.1", server.port()));
        ASSERT_GT(send(s.fd, "GET /metr", 9, 0), 0);
    }
    const auto t0 = std::chrono::steady_clock::now();
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(10, 0);
    auto res = client.Get("/metrics");
    const auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_LT(waited, std::chrono::milliseconds(4500));
}

// httplib's own pool queues every connection it accepts: 12 idle clients would hold 12 of
// the daemon's descriptors. Ours holds 8; the rest wait in the kernel's backlog (httplib's
// is 5 deep: more blocking connects would wait for SYN retransmits), served once the
// idle ones go.
TEST(MetricsServer, HoldsEightConnectionsAtMost) {
    Server server(kAnyPort, [] { return std::string("x 1\n"); });
    server.start();
    const size_t before = open_fds();
    std::vector<Socket> idle(12);
    for (Socket &s : idle) ASSERT_TRUE(s.connect_to("127.0.0.1", server.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // accepted by now
    const size_t held = open_fds() - before - idle.size();
    EXPECT_LE(held, 8u);
    EXPECT_GE(held, 2u);  // the two being served at least: the count sees them
    idle.clear();
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(20, 0);
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
}

TEST(MetricsServer, MissingModuleThrowsNamingListenAndPath) {
    MetricsServer server(
        kAnyPort, [] { return std::string(); }, "/nonexistent/xdpknock-metrics.so");
    const std::string what = start_error(server);
    EXPECT_NE(what.find("metrics.listen: cannot load the metrics module "
                        "/nonexistent/xdpknock-metrics.so: "),
              std::string::npos)
        << what;
}

// A shared object that is not the module (libc here) is refused, naming what it lacks.
TEST(MetricsServer, LibraryWithoutTheFactoryThrows) {
    Dl_info info{};
    ASSERT_NE(dladdr(reinterpret_cast<void *>(&strlen), &info), 0);
    MetricsServer server(
        kAnyPort, [] { return std::string(); }, info.dli_fname);
    const std::string what = start_error(server);
    EXPECT_NE(what.find("metrics.listen: cannot load the metrics module"), std::string::npos)
        << what;
    EXPECT_NE(what.find("no xk_metrics_module_create"), std::string::npos) << what;
}

// No module given: the installed layout's, <directory of the executable>/../lib/xdpknock/.
TEST(MetricsServer, DefaultModuleIsBesideTheExecutable) {
    MetricsServer server(kAnyPort, [] { return std::string(); });
    const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
    const std::string expected =
        (exe_dir.parent_path() / "lib/xdpknock/xdpknock-metrics.so").string();
    const std::string what = start_error(server);
    EXPECT_NE(what.find("metrics.listen: cannot load the metrics module " + expected + ": "),
              std::string::npos)
        << what;
}

// A failing render is a bare 500: httplib's default would copy the exception's text into
// a response header.
TEST(MetricsServer, RenderFailureIsABare500) {
    Server server(kAnyPort, []() -> std::string { throw std::runtime_error("internal detail"); });
    server.start();
    httplib::Client client("127.0.0.1", server.port());
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->body.find("internal detail"), std::string::npos);
    for (const auto &[k, v] : res->headers)
        EXPECT_EQ(v.find("internal detail"), std::string::npos) << k;
}

// stop() right after start() returns (the listener is not left in accept()), frees the
// port, and the server starts again.
TEST(MetricsServer, StopFreesThePortAndStartsAgain) {
    Server server(kAnyPort, [] { return std::string("x 1\n"); });
    for (int i = 0; i < 20; ++i) {
        server.start();
        server.stop();
    }
    server.start();
    const uint16_t port = server.port();
    server.stop();
    Server again({"127.0.0.1", port, false}, [] { return std::string("again 1\n"); });
    again.start();
    auto res = httplib::Client("127.0.0.1", port).Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "again 1\n");
}

}  // namespace
