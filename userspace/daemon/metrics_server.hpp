#pragma once
// The Prometheus endpoint (config "metrics"): GET /metrics answers with what the daemon's
// render function returns, anything else is 404. cpp-httplib serves it: one listener
// thread, two request threads, short timeouts and one request per connection, so a slow or
// idle client holds a thread for seconds at most; bound to metrics.listen alone.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "policy/config.hpp"

namespace httplib {
class Server;
}

namespace xk::daemon {

class MetricsServer {
  public:
    using Render = std::function<std::string()>;  // called on a request thread

    MetricsServer(const policy::Metrics &config, Render render);
    ~MetricsServer();  // stop()
    MetricsServer(const MetricsServer &) = delete;
    MetricsServer &operator=(const MetricsServer &) = delete;

    // Binds metrics.listen and serves until stop(). Throws std::runtime_error naming
    // metrics.listen and why (address in use, not an address of this host, ...).
    void start();
    void stop();
    // The bound port: the config's, or the kernel's pick when it is 0 (tests).
    uint16_t port() const { return port_; }

  private:
    void bind(httplib::Server &server);

    policy::Metrics config_;
    Render render_;
    std::unique_ptr<httplib::Server> server_;
    std::thread listener_;
    uint16_t port_ = 0;
};

}  // namespace xk::daemon
