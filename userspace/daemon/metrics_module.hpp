#pragma once
// The contract between xdpknockd and its metrics module, xdpknock-metrics.so: the endpoint
// itself, served by cpp-httplib. The daemon dlopens the module only when metrics.listen is
// set, because Debian's libcpp-httplib links OpenSSL and starts it from an ELF constructor
// (OPENSSL_init_ssl: ~3 MB resident) the moment it is loaded. Both sides are built from one
// tree with one compiler, so C++ types cross; kAbi catches a module left from another build.

#include <cstdint>
#include <functional>
#include <string>

namespace xk::daemon::metrics_module {

inline constexpr int kAbi = 1;  // bump on any change to what this header declares
inline constexpr const char *kFactory = "xk_metrics_module_create";
// Where the daemon looks, relative to the directory of its own executable: the package puts
// xdpknockd in /usr/sbin and the module in /usr/lib/xdpknock; the build tree mirrors it.
inline constexpr const char *kPathFromExe = "../lib/xdpknock/xdpknock-metrics.so";

// Called on a request thread. An exception is answered with a bare 500 (its text is never
// sent): the caller logs it.
using Render = std::function<std::string()>;

// GET /metrics on host:port answered with render's text; anything else 404 (405 for
// another method on /metrics).
class Endpoint {
  public:
    virtual ~Endpoint() = default;
    // Binds and serves until stop(); returns the bound port (the kernel's pick for port 0).
    // Throws std::runtime_error naming metrics.listen and why.
    virtual uint16_t start() = 0;
    virtual void stop() = 0;
};

// nullptr when abi is not the module's kAbi.
using Factory = Endpoint *(int abi, const std::string *host, uint16_t port, const Render *render);

}  // namespace xk::daemon::metrics_module
