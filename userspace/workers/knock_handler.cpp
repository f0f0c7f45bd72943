#include "workers/knock_handler.hpp"

#include "log/log.hpp"
#include "log/refusal_summary.hpp"
#include "spa/http_knock.hpp"
#include "xdpknock/parse.h"

namespace xk::workers {
namespace {
log::RateLimit g_refusal_log(20);

// The transport a parsed knock candidate came by (the gate redirects no other).
policy::Transport transport_of(const xk_pkt &p) {
    if (p.l4proto == IPPROTO_UDP) return policy::Transport::udp;
    return p.l4proto == IPPROTO_TCP ? policy::Transport::tcp : policy::Transport::icmp;
}
}  // namespace

spa::Reject KnockHandler::handle_frame(const uint8_t *data, uint32_t len, int64_t now_unix) {
    stats_.frames.fetch_add(1, std::memory_order_relaxed);
    xk_pkt pkt{};
    const bool parsed = xk_parse_frame(data, data + len, &pkt, raw_ip_) == XK_PARSE_OK;
    // A segment that is no SYN, to an http knock port: a request on a web server's connection.
    if (parsed && !pkt.partial && pkt.l4proto == IPPROTO_TCP &&
        (pkt.tcp_flags & (XK_TCP_SYN | XK_TCP_ACK)) != XK_TCP_SYN &&
        policy_.listens(pkt.dport, policy::Transport::http))
        return http_knock({policy::Address::from_bytes(pkt.saddr),
                           policy::Address::from_bytes(pkt.daddr), pkt.dport},
                          {data + pkt.payload_off, pkt.payload_len}, now_unix);
    if (!parsed || pkt.partial || !policy_.listens(pkt.dport, transport_of(pkt))) {
        stats_.not_knock.fetch_add(1, std::memory_order_relaxed);
        return spa::Reject::bad_fields;
    }
    policy::Knock knock;
    knock.source = policy::Address::from_bytes(pkt.saddr);
    knock.destination = policy::Address::from_bytes(pkt.daddr);
    knock.port = pkt.dport;
    knock.transport = transport_of(pkt);
    knock.payload = {data + pkt.payload_off, pkt.payload_len};
    knock.now = now_unix;
    return judge(knock);
}

spa::Reject KnockHandler::handle_http(const HttpSegment &seg, std::span<const uint8_t> request,
                                      int64_t now_unix) {
    stats_.frames.fetch_add(1, std::memory_order_relaxed);
    return http_knock(seg, request, now_unix);
}

spa::Reject KnockHandler::http_knock(const HttpSegment &seg, std::span<const uint8_t> request,
                                     int64_t now_unix) {
    spa::HttpKnock http;
    if (request.size() > http_spa_.size()) request = request.first(http_spa_.size());
    if (!spa::parse_http_knock(request, http_spa_, http)) {
        stats_.not_knock.fetch_add(1, std::memory_order_relaxed);  // the web server's traffic
        return spa::Reject::bad_fields;
    }
    policy::Knock knock;
    // Behind a proxy, the client is the one the header names (when the config says to
    // believe it): the address a grant opens, and the one proof_ip and sources judge.
    knock.source = policy_.config().http_x_forwarded_for && http.forwarded
                       ? policy::Address::from_bytes(http.forwarded_for.data())
                       : seg.source;
    knock.destination = seg.destination;
    knock.port = seg.port;
    knock.transport = policy::Transport::http;
    knock.payload = {http_spa_.data(), http.spa_len};
    knock.now = now_unix;
    return judge(knock);
}

spa::Reject KnockHandler::judge(const policy::Knock &knock) {
    policy::Decision d = policy_.check(knock);
    if (d.accepted()) {
        spa::Reject granted = sink_.grant(knock, d);  // the sink logs a refusal, rate-limited
        if (granted == spa::Reject::ok) {
            stats_.accepted.fetch_add(1, std::memory_order_relaxed);
        } else {
            stats_.rejected[static_cast<size_t>(granted)].fetch_add(1, std::memory_order_relaxed);
        }
        return granted;
    }
    stats_.rejected[static_cast<size_t>(d.reason)].fetch_add(1, std::memory_order_relaxed);
    sink_.refuse(knock, d);
    // Never answered on the wire: counted for the 10 s info summary (the gateway's tick
    // flushes it); one line per knock only at debug, rate-limited against floods.
    log::refusals().bump(d.reason);
    if (log::enabled(log::Level::debug) && g_refusal_log.allow()) {
        XK_DEBUG("knock refused from %s to %s/%u: %s", policy::format_address(knock.source).c_str(),
                 policy::transport_name(knock.transport), knock.port, spa::reject_name(d.reason));
    }
    return d.reason;
}

}  // namespace xk::workers
