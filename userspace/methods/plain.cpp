// plain: the UDP payload is the secret itself, byte for byte. Cheap to check and to send
// (echo | nc -u), but anyone on the path can resend it: for trusted links.

#include <algorithm>

#include "methods/knock_method.hpp"
#include "spa/plain.hpp"

namespace xk::methods {
namespace {

using spa::Reject;

class PlainJudge final : public RangeJudge {
  public:
    explicit PlainJudge(const policy::Range &range) : range_(range) {}

    Reject judge(const Knock &knock, PacketReplay &, Decision &d) override {
        for (uint32_t i = 0; i < range_.secrets.size(); ++i) {
            if (!spa::plain_matches(knock.payload, range_.secrets[i].plain)) continue;
            d.secret_id = i;
            d.timeout_s = range_.timeout_s;
            // A plain knock opens the range's whole list.
            d.nports = std::min(range_.open.size(), kMaxGrantPorts);
            std::copy_n(range_.open.begin(), d.nports, d.ports.begin());
            return Reject::ok;
        }
        return Reject::plain_mismatch;
    }

  private:
    const policy::Range &range_;
};

// A port's plain lengths as min..max plus a 64-bit bitmap from min: O(1) in BPF for any
// number of secrets, exact while they span under 64 bytes (a few rotated secrets of one
// style do); lengths past the window pass on bounds alone, never a false drop.
void add_plain_length(xk_port &e, size_t length) {
    const auto len = static_cast<uint16_t>(std::min<size_t>(length, UINT16_MAX));
    if (!(e.knock_shapes & XK_KNOCK_PLAIN)) {
        e.knock_shapes |= XK_KNOCK_PLAIN;
        e.plain_min_len = e.plain_max_len = len;
        e.plain_lens = 1;
        return;
    }
    if (len < e.plain_min_len) {
        const unsigned shift = e.plain_min_len - len;
        e.plain_lens = shift >= XK_PLAIN_LEN_BITS ? 0 : e.plain_lens << shift;
        e.plain_min_len = len;
    }
    e.plain_max_len = std::max(e.plain_max_len, len);
    const unsigned bit = len - e.plain_min_len;
    if (bit < XK_PLAIN_LEN_BITS) e.plain_lens |= uint64_t{1} << bit;
}

class Plain final : public KnockMethod {
  public:
    std::string_view name() const override { return "plain"; }

    policy::Secret parse_secret(const SecretFields &f) const override {
        f.only_keys({"label", "secret", "secret_base64"});
        policy::Secret s;
        s.label = f.text("label", "", true);
        s.plain = f.bytes("secret", "secret_base64", true);
        return s;
    }

    void warnings(const policy::Range &r, std::vector<std::string> &out) const override {
        if (!r.takes(policy::Transport::icmp)) return;
        out.push_back("range " + r.name +
                      ": plain knocks over icmp: every echo whose payload has a secret's length "
                      "is taken as a knock, so pings of that size go unanswered");
    }

    void add_shape(const policy::Range &range, xk_port &port) const override {
        for (const auto &s : range.secrets) add_plain_length(port, s.plain.size());
    }

    std::unique_ptr<RangeJudge> make_judge(const policy::Range &range) const override {
        return std::make_unique<PlainJudge>(range);
    }
};

}  // namespace

const KnockMethod &plain_method() {
    static const Plain method;
    return method;
}

}  // namespace xk::methods
