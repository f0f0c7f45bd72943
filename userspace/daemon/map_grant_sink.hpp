#pragma once
// The daemon's grant sink: writes authorizations into the interface's pinned map and
// logs each decision once, without secrets (the label names which secret matched).

#include "auth/authorized.hpp"
#include "workers/knock_handler.hpp"

namespace xk::daemon {

class MapGrantSink : public workers::GrantSink {
  public:
    MapGrantSink(const policy::Config &config, int authorized_fd, std::string ifname)
        : config_(config), authorized_(authorized_fd), ifname_(std::move(ifname)) {}

    void grant(const policy::Knock &knock, const policy::Decision &decision) override;
    auth::Authorized &authorized() { return authorized_; }

  private:
    const policy::Config &config_;
    auth::Authorized authorized_;
    std::string ifname_;
};

}  // namespace xk::daemon
