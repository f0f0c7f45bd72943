#include "daemon/metrics_server.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "log/log.hpp"

namespace xk::daemon {
namespace {

std::string listen_text(const policy::Metrics &m) {
    const bool v6 = m.host.find(':') != std::string::npos;
    return (v6 ? "[" + m.host + "]" : m.host) + ":" + std::to_string(m.port);
}

// The installed layout's module, beside the executable that runs: found from where the
// binary is, never from the environment or the config, so it is exactly as trusted as the
// daemon itself (both root's, in the package).
std::string module_beside_exe() {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot read /proc/self/exe: " + ec.message());
    return (exe.parent_path() / metrics_module::kPathFromExe).lexically_normal().string();
}

// dlopen (once per process: later calls find it loaded) and the factory. Never dlclose'd:
// httplib's and OpenSSL's exit handlers must find their code mapped.
metrics_module::Factory *load(const std::string &path) {
    void *so = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (so == nullptr) throw std::runtime_error(dlerror());
    auto *factory =
        reinterpret_cast<metrics_module::Factory *>(dlsym(so, metrics_module::kFactory));
    if (factory == nullptr)
        throw std::runtime_error(std::string("no ") + metrics_module::kFactory + " in it");
    return factory;
}

}  // namespace

MetricsServer::MetricsServer(const policy::Metrics &config, Render render, std::string module)
    : config_(config), render_(std::move(render)), module_(std::move(module)) {}

MetricsServer::~MetricsServer() {
    stop();
}

void MetricsServer::start() {
    if (endpoint_) return;
    std::string path = module_;
    try {
        if (path.empty()) path = module_beside_exe();
        // The render's exception is logged here: the module answers a bare 500.
        const metrics_module::Render render = [r = render_]() -> std::string {
            try {
                return r();
            } catch (const std::exception &e) {
                XK_ERROR("metrics: cannot render: %s", e.what());
                throw;
            }
        };
        endpoint_.reset(load(path)(metrics_module::kAbi, &config_.host, config_.port, &render));
        if (!endpoint_) throw std::runtime_error("built for another xdpknockd (ABI mismatch)");
    } catch (const std::exception &e) {
        throw std::runtime_error("metrics.listen: cannot load the metrics module " +
                                 (path.empty() ? std::string(metrics_module::kPathFromExe) : path) +
                                 ": " + e.what());
    }
    try {
        port_ = endpoint_->start();
    } catch (...) {
        endpoint_.reset();
        throw;
    }
    XK_INFO("metrics: serving http://%s/metrics (%s)", listen_text({config_.host, port_}).c_str(),
            path.c_str());
}

void MetricsServer::stop() {
    if (!endpoint_) return;
    endpoint_->stop();
    endpoint_.reset();
}

}  // namespace xk::daemon
