// xdpknock-metrics.so: the Prometheus endpoint on cpp-httplib, loaded by xdpknockd only
// when metrics.listen is set (metrics_module.hpp says why). Two request threads, at most
// kMaxConnections accepted at once (the rest wait in the kernel's backlog), 2 s read and
// write timeouts, one request per connection, no body, GET /metrics only; bound to
// metrics.listen alone (no SO_REUSEPORT). It logs nothing itself: the daemon does.
#include <httplib.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "daemon/metrics_module.hpp"
#include "stats/prometheus_printer.hpp"

namespace xk::daemon::metrics_module {
namespace {

constexpr size_t kThreads = 2;
constexpr size_t kMaxConnections = 8;  // served and queued; each one an open socket
constexpr time_t kTimeoutS = 2;        // per read and per write: a stalled client lets go soon
constexpr size_t kMaxPayload = 1024;   // a GET has no body

std::string listen_text(const std::string &host, int port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// httplib's ThreadPool queues every accepted connection, without limit: a client opening
// sockets in a loop would run the daemon out of file descriptors. This one holds
// kMaxConnections at most and then blocks the listener, so further clients wait in the
// kernel's backlog, as they would for a busy server.
class BoundedPool final : public httplib::TaskQueue {
  public:
    explicit BoundedPool(const std::atomic<bool> &stopping) : stopping_(stopping) {
        for (size_t i = 0; i < kThreads; ++i) threads_.emplace_back([this] { work(); });
    }
    ~BoundedPool() override = default;  // httplib calls shutdown() before deleting it

    void enqueue(std::function<void()> fn) override {
        std::unique_lock lock(mutex_);
        // In slices, so stop() is not held up by a full pool. The job is taken even then:
        // it owns the accepted socket, which it closes.
        while (held_ + 1 >= kMaxConnections && !stopping_.load())
            room_.wait_for(lock, std::chrono::milliseconds(50));
        ++held_;
        jobs_.push_back(std::move(fn));
        ready_.notify_one();
    }

    void shutdown() override {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        ready_.notify_all();
        for (std::thread &t : threads_) t.join();
    }

  private:
    void work() {
        pthread_setname_np(pthread_self(), "xk-metrics");
        for (;;) {
            std::function<void()> fn;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [this] { return done_ || !jobs_.empty(); });
                if (jobs_.empty()) return;  // done, and every connection served
                fn = std::move(jobs_.front());
                jobs_.pop_front();
            }
            fn();  // reads, answers and closes one connection
            {
                std::lock_guard lock(mutex_);
                --held_;
            }
            room_.notify_one();
        }
    }

    const std::atomic<bool> &stopping_;
    std::mutex mutex_;
    std::condition_variable ready_, room_;
    std::deque<std::function<void()>> jobs_;
    size_t held_ = 0;  // queued and being served
    bool done_ = false;
    std::vector<std::thread> threads_;
};

// httplib's default also sets SO_REUSEPORT, which would let a second daemon (or anything
// of the same user) bind the same port and take half the scrapes. SO_REUSEADDR only
// skips TIME_WAIT after a restart.
void exclusive_bind(int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

void routes(httplib::Server &server, const Render &render) {
    // Before routing: one path, one method; HEAD or POST never reach the render.
    server.set_pre_routing_handler([](const httplib::Request &req, httplib::Response &res) {
        using R = httplib::Server::HandlerResponse;
        if (req.path != "/metrics") {
            res.status = 404;
            res.set_content("Not Found\n", "text/plain");
            return R::Handled;
        }
        if (req.method == "GET") return R::Unhandled;
        res.status = 405;
        res.set_header("Allow", "GET");
        res.set_content("Method Not Allowed\n", "text/plain");
        return R::Handled;
    });
    server.Get("/metrics", [&render](const httplib::Request &, httplib::Response &res) {
        res.set_content(render(), stats::kPrometheusContentType);
    });
    // httplib's own handler would put the exception's text in a header; the daemon's render
    // function logs it.
    server.set_exception_handler(
        [](const httplib::Request &, httplib::Response &res, std::exception_ptr) {
            res.status = 500;
            res.set_content("Internal Server Error\n", "text/plain");
        });
}

class HttplibEndpoint final : public Endpoint {
  public:
    HttplibEndpoint(std::string host, uint16_t port, Render render)
        : host_(std::move(host)), port_(port), render_(std::move(render)) {}
    ~HttplibEndpoint() override { stop(); }

    uint16_t start() override;
    void stop() override;

  private:
    int bind(httplib::Server &server);

    std::string host_;
    uint16_t port_;
    Render render_;
    std::unique_ptr<httplib::Server> server_;
    std::thread listener_;
    std::atomic<bool> stopping_{false};
};

int HttplibEndpoint::bind(httplib::Server &server) {
    errno = 0;
    int port = port_;
    if (port_ == 0) {
        port = server.bind_to_any_port(host_);
    } else if (!server.bind_to_port(host_, port_)) {
        port = -1;
    }
    if (port <= 0) {
        const int err = errno;  // bind()'s or listen()'s: httplib only closes after them
        throw std::runtime_error("metrics.listen: cannot listen on " + listen_text(host_, port_) +
                                 ": " + (err ? std::strerror(err) : "bind failed"));
    }
    return port;
}

uint16_t HttplibEndpoint::start() {
    auto server = std::make_unique<httplib::Server>();
    stopping_ = false;
    server->new_task_queue = [this] { return new BoundedPool(stopping_); };
    server->set_socket_options(exclusive_bind);
    server->set_read_timeout(kTimeoutS, 0);
    server->set_write_timeout(kTimeoutS, 0);
    server->set_keep_alive_max_count(1);  // one request per connection: no idle holders
    server->set_payload_max_length(kMaxPayload);
    routes(*server, render_);
    const int port = bind(*server);

    httplib::Server *s = server.get();
    auto done = std::make_shared<std::atomic<bool>>(false);
    listener_ = std::thread([s, done] {
        pthread_setname_np(pthread_self(), "xk-metrics");
        s->listen_after_bind();
        done->store(true);
    });
    server_ = std::move(server);
    // stop() only closes a server that runs: wait until it does (or gave up), so a stop
    // right after start cannot leave the listener blocked in accept().
    while (!s->is_running() && !done->load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (done->load()) {
        stop();
        throw std::runtime_error("metrics.listen: " + listen_text(host_, port) + ": not serving");
    }
    return static_cast<uint16_t>(port);
}

void HttplibEndpoint::stop() {
    if (!server_) return;
    stopping_ = true;  // a listener waiting for room in the pool lets go
    server_->stop();
    if (listener_.joinable()) listener_.join();
    server_.reset();
}

}  // namespace
}  // namespace xk::daemon::metrics_module

// The module's one export (the rest is hidden): a new endpoint, or nullptr when the daemon
// was built against another version of metrics_module.hpp.
extern "C" __attribute__((visibility("default"))) xk::daemon::metrics_module::Endpoint *
xk_metrics_module_create(int abi, const std::string *host, uint16_t port,
                         const xk::daemon::metrics_module::Render *render) {
    namespace mm = xk::daemon::metrics_module;
    static_assert(std::is_same_v<decltype(xk_metrics_module_create), mm::Factory>);
    if (abi != mm::kAbi || host == nullptr || render == nullptr) return nullptr;
    return new mm::HttplibEndpoint(*host, port, *render);
}
