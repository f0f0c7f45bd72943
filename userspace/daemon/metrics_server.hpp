#pragma once
// The Prometheus endpoint (config "metrics"): GET /metrics answers with what the daemon's
// render function returns, anything else is 404 (405 for another method). cpp-httplib serves
// it from a module, xdpknock-metrics.so, loaded on the first start() only: Debian's
// libcpp-httplib starts OpenSSL from an ELF constructor (~3 MB resident), which a daemon
// without metrics never pays. The module's limits: two request threads, at most 8
// connections held (the rest wait in the backlog), 2 s read and write timeouts, one request
// per connection; bound to metrics.listen alone (no SO_REUSEPORT).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "daemon/metrics_module.hpp"
#include "policy/config.hpp"

namespace xk::daemon {

class MetricsServer {
  public:
    using Render = std::function<std::string()>;  // called on a request thread

    // module: the module's path; empty for the installed layout, <directory of this
    // executable>/../lib/xdpknock/xdpknock-metrics.so (tests name the build tree's).
    MetricsServer(const policy::Metrics &config, Render render, std::string module = {});
    ~MetricsServer();  // stop()
    MetricsServer(const MetricsServer &) = delete;
    MetricsServer &operator=(const MetricsServer &) = delete;

    // Loads the module, binds metrics.listen and serves until stop(). Throws
    // std::runtime_error naming metrics.listen and why (the module's path and dlerror() when
    // it cannot be loaded, address in use, not an address of this host, ...).
    void start();
    void stop();
    // The bound port: the config's, or the kernel's pick when it is 0 (tests).
    uint16_t port() const { return port_; }

  private:
    policy::Metrics config_;
    Render render_;
    std::string module_;
    std::unique_ptr<metrics_module::Endpoint> endpoint_;
    uint16_t port_ = 0;
};

}  // namespace xk::daemon
