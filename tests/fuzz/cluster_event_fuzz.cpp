// libFuzzer target: what a gateway reads from Redis (cluster/cluster_event.hpp), written by
// its peers or by anyone with access to Redis: a stream entry's fields (field, value, …,
// separated by the input's first byte) and a stored grant (address, port and value, the
// same bytes split on newlines). Whatever
// parses must be a grant no wider than one a peer can make, and read back as written.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/cluster_event.hpp"

namespace {

using xk::cluster::Event;

[[noreturn]] void violated(const char *what) {
    std::fprintf(stderr, "cluster_event_fuzz: %s\n", what);
    std::abort();
}

void check(const xk::cluster::RemoteEvent &r) {
    const Event &e = r.event;
    if (!xk::cluster::valid_node(r.node)) violated("a node name that is not a word");
    if (e.op == Event::Op::revoke) return;
    if (e.nports == 0 || e.nports > xk::cluster::kMaxEventPorts) violated("port count");
    if (e.timeout_s == 0 || e.timeout_s > xk::cluster::kMaxGrantSeconds) violated("timeout");
    // Held no longer than its own timeout, whatever the clocks say.
    for (int64_t now : {int64_t{0}, e.at_us / 1000, e.expires_ms - 1000, INT64_MAX / 4}) {
        if (xk::cluster::remaining_seconds(e, now) > e.timeout_s) violated("held past its timeout");
    }
    auto back = xk::cluster::parse_event(xk::cluster::event_fields(e, r.node));
    if (!back || back->event.nports != e.nports || back->event.expires_ms != e.expires_ms ||
        back->event.timeout_s != e.timeout_s || back->event.at_us != e.at_us ||
        !(back->event.addr == e.addr))
        violated("does not read back as written");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const char sep = static_cast<char>(data[0]);
    const std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
    xk::cluster::Fields fields;
    size_t at = 0;
    while (at <= in.size() && fields.size() < 32) {
        size_t k_end = in.find(sep, at);
        if (k_end == std::string_view::npos) break;
        size_t v_end = in.find(sep, k_end + 1);
        if (v_end == std::string_view::npos) v_end = in.size();
        fields.emplace_back(std::string(in.substr(at, k_end - at)),
                            std::string(in.substr(k_end + 1, v_end - k_end - 1)));
        at = v_end + 1;
    }
    if (auto r = xk::cluster::parse_event(fields)) check(*r);

    const size_t nl1 = in.find('\n'),
                 nl2 = nl1 == std::string_view::npos ? nl1 : in.find('\n', nl1 + 1);
    if (nl2 != std::string_view::npos) {
        if (auto addr = xk::policy::parse_address(in.substr(0, nl1))) {
            auto r = xk::cluster::parse_stored_grant(*addr, in.substr(nl1 + 1, nl2 - nl1 - 1),
                                                     in.substr(nl2 + 1));
            if (r) check(*r);
        }
        xk::cluster::grant_key_address("xk", in.substr(0, nl1));
    }
    return 0;
}
