#pragma once
// fwknop -P http: the gates pass every segment to an http knock port to its web server and
// copy the ones that start a request ("GET /") into http_events; this box judges each copy
// like a worker judges a knock (the same policy, replay cache and sink), on the
// RingPoller's thread. Copies come at most at the sources' knock rate, so one thread does.

#include <memory>
#include <vector>

#include "daemon/ring_poller.hpp"
#include "policy/knock_policy.hpp"
#include "workers/knock_handler.hpp"
#include "xdpknock/maps.h"

namespace xk::daemon {

class GuardedInterface;

class HttpService {
  public:
    explicit HttpService(policy::ReplayStore &replay) : replay_(replay) {}
    HttpService(const HttpService &) = delete;
    HttpService &operator=(const HttpService &) = delete;

    void watch(GuardedInterface &iface, RingPoller &poller);  // its http_events ring
    // What the http knocks of an interface came to (status, metrics).
    const workers::HandlerStats &stats(size_t iface) const { return judges_[iface]->stats; }

  private:
    // Grants through the interface's current sink, whatever generation it is.
    struct IfaceSink : workers::GrantSink {
        GuardedInterface *iface = nullptr;
        spa::Reject grant(const policy::Knock &knock, const policy::Decision &d) override;
    };
    struct Judge {
        IfaceSink sink;
        workers::HandlerStats stats;
        // What policy was built for, held: a freed config's address may come back as the next
        // one's, which a bare pointer would take for the same config.
        std::shared_ptr<const policy::Config> config;
        std::unique_ptr<policy::KnockPolicy> policy;
        std::unique_ptr<workers::KnockHandler> handler;
    };
    void on_event(Judge &judge, const xk_http_event &e);

    policy::ReplayStore &replay_;
    std::vector<std::unique_ptr<Judge>> judges_;
};

}  // namespace xk::daemon
