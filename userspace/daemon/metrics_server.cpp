#include "daemon/metrics_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "log/log.hpp"
#include "stats/prometheus_printer.hpp"

namespace xk::daemon {
namespace {

constexpr size_t kRequestThreads = 2;
constexpr time_t kTimeoutS = 2;  // per read and per write: a stalled client lets go soon

std::string listen_text(const policy::Metrics &m) {
    const bool v6 = m.host.find(':') != std::string::npos;
    return (v6 ? "[" + m.host + "]" : m.host) + ":" + std::to_string(m.port);
}

// httplib's default also sets SO_REUSEPORT, which would let a second daemon (or anything
// of the same user) bind the same port and take half the scrapes. SO_REUSEADDR only
// skips TIME_WAIT after a restart.
void exclusive_bind(int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

void routes(httplib::Server &server, const MetricsServer::Render &render) {
    server.Get("/metrics", [&render](const httplib::Request &, httplib::Response &res) {
        res.set_content(render(), stats::kPrometheusContentType);
    });
    // httplib's own handler would put the exception's text in a header.
    server.set_exception_handler(
        [](const httplib::Request &, httplib::Response &res, std::exception_ptr ep) {
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception &e) {
                XK_ERROR("metrics: cannot render: %s", e.what());
            } catch (...) {
                XK_ERROR("metrics: cannot render");
            }
            res.status = 500;
            res.set_content("metrics unavailable\n", "text/plain");
        });
}

}  // namespace

MetricsServer::MetricsServer(const policy::Metrics &config, Render render)
    : config_(config), render_(std::move(render)) {}

MetricsServer::~MetricsServer() {
    stop();
}

void MetricsServer::bind(httplib::Server &server) {
    errno = 0;
    int port = config_.port;
    if (config_.port == 0) {
        port = server.bind_to_any_port(config_.host);
    } else if (!server.bind_to_port(config_.host, config_.port)) {
        port = -1;
    }
    if (port <= 0) {
        const int err = errno;  // bind()'s or listen()'s: httplib only closes after them
        throw std::runtime_error("metrics.listen: cannot listen on " + listen_text(config_) + ": " +
                                 (err ? std::strerror(err) : "bind failed"));
    }
    port_ = static_cast<uint16_t>(port);
}

void MetricsServer::start() {
    if (server_) return;
    auto server = std::make_unique<httplib::Server>();
    server->new_task_queue = [] { return new httplib::ThreadPool(kRequestThreads); };
    server->set_socket_options(exclusive_bind);
    server->set_read_timeout(kTimeoutS, 0);
    server->set_write_timeout(kTimeoutS, 0);
    server->set_keep_alive_max_count(1);   // one request per connection: no idle holders
    server->set_payload_max_length(1024);  // a GET has no body
    routes(*server, render_);
    bind(*server);

    httplib::Server *s = server.get();
    auto done = std::make_shared<std::atomic<bool>>(false);
    listener_ = std::thread([s, done] {
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
        throw std::runtime_error("metrics.listen: " + listen_text(config_) + ": not serving");
    }
    XK_INFO("metrics: serving http://%s/metrics", listen_text({config_.host, port_}).c_str());
}

void MetricsServer::stop() {
    if (!server_) return;
    server_->stop();
    if (listener_.joinable()) listener_.join();
    server_.reset();
}

}  // namespace xk::daemon
