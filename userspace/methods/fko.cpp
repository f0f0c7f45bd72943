// fko: fwknop's Single Packet Authorization (FKO-WIRE.md) — an encrypted, authenticated,
// time-stamped request naming the ports to open; each packet is accepted once.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "gpg/gpg_decryptor.hpp"
#include "methods/knock_method.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_gpg.hpp"
#include "spa/fko_key_context.hpp"
#include "spa/fko_plaintext.hpp"
#include "spa/fko_secret.hpp"

namespace xk::methods {
namespace {

using spa::Reject;

class FkoJudge final : public RangeJudge {
  public:
    explicit FkoJudge(const policy::Range &range);
    Reject judge(const Knock &knock, PacketReplay &replay, Decision &d) override;

  private:
    Reject record(PacketReplay &replay, const spa::FkoKeyContext &ctx);
    Reject open(uint32_t secret, const Knock &knock, bool authenticated);
    Reject client_nat(const spa::FkoMessage &m, Decision &d) const;
    Reject judge_message(const Knock &knock, Decision &d) const;

    const policy::Range &range_;
    std::vector<std::unique_ptr<spa::FkoKeyContext>> contexts_;  // one per secret
    std::vector<std::unique_ptr<gpg::GpgDecryptor>> gpg_;        // per secret; null: Rijndael
    std::shared_ptr<policy::SharedBudget> gpg_budget_;
    spa::FkoMessage message_;  // scratch, reused: no allocation per knock
};

FkoJudge::FkoJudge(const policy::Range &range)
    : range_(range),
      gpg_budget_(range.gpg_budget ? range.gpg_budget
                                   : std::make_shared<policy::SharedBudget>(range.gpg_per_second)) {
    for (const auto &secret : range.secrets) {
        std::string error;
        auto ctx = spa::FkoKeyContext::create(secret.fko, error);
        std::unique_ptr<gpg::GpgDecryptor> gpg;
        if (ctx && secret.fko.gpg) gpg = gpg::GpgDecryptor::create(*secret.fko.gpg, error);
        if (!ctx || (secret.fko.gpg && !gpg)) {
            throw policy::ConfigError("range " + range.name + ", secret " + secret.label + ": " +
                                      error);
        }
        contexts_.push_back(std::move(ctx));
        gpg_.push_back(std::move(gpg));
    }
}

// Order: structure → HMAC → replay → decrypt → fields → inner digest → time → proof_ip →
// ports. ARCHITECTURE.md puts the replay digest before the HMAC, as fwknopd does; we take it
// right after: junk under a flood then costs one HMAC instead of a SHA-256 of the payload, a
// lock and an HMAC (~40% less per junk packet), replays are refused exactly as before, and
// still nothing is decrypted before both checks pass. The replay key of an HMAC packet is its
// verified tag (spa::tag_replay_key: exactly as strong, and no SHA-256 of the wire per
// knock). Secrets without HMAC check the replay cache first, by the wire's SHA-256, as before.
Reject FkoJudge::judge(const Knock &knock, PacketReplay &replay, Decision &d) {
    if (Reject r = spa::fko_precheck(knock.payload); r != Reject::ok) return r;
    Reject last = Reject::no_secret_matched;
    bool limited = false;  // a GPG secret's budget was spent: the knock was not fully judged
    for (uint32_t i = 0; i < contexts_.size(); ++i) {
        spa::FkoKeyContext &ctx = *contexts_[i];
        spa::ReplayDigest tag;
        last = spa::fko_verify_mac(ctx, knock.payload, &tag);
        if (last != Reject::ok) continue;  // wrong key: try the next secret
        const bool has_tag = ctx.hmac_type() != spa::HmacType::none;
        if (Reject r = replay.check(has_tag ? &tag : nullptr); r != Reject::ok) return r;
        last = open(i, knock, has_tag);
        limited |= last == Reject::gpg_rate_limited;
        if (last != Reject::ok) {
            // An authentic GPG knock gpg refused is remembered all the same: each copy of it
            // would cost a gpg run outside the budget.
            if (has_tag && ctx.gpg())
                if (Reject r = replay.record({}, knock.now); r != Reject::ok) return r;
            continue;
        }
        d.secret_id = i;
        d.fko = &message_;
        // Authentic: remember it before judging, so even a refused packet never counts twice.
        if (Reject r = record(replay, ctx); r != Reject::ok) return r;
        return judge_message(knock, d);
    }
    return limited ? Reject::gpg_rate_limited : last;
}

// The gpg run of one knock, paid from the range's budget (shared by the workers) unless an
// HMAC vouched for the knock: past it, knocks are refused as gpg_rate_limited.
class BudgetedOpener final : public spa::GpgOpener {
  public:
    BudgetedOpener(spa::GpgOpener &gpg, policy::SharedBudget *budget, int64_t now)
        : gpg_(gpg), budget_(budget), now_(now) {}
    Reject open(std::span<const uint8_t> m, std::span<char> plain, size_t &len) override {
        if (budget_ && !budget_->take(now_)) return Reject::gpg_rate_limited;
        return gpg_.open(m, plain, len);
    }

  private:
    spa::GpgOpener &gpg_;
    policy::SharedBudget *budget_;
    int64_t now_;  // the knock's clock
};

Reject FkoJudge::open(uint32_t secret, const Knock &knock, bool authenticated) {
    spa::FkoKeyContext &ctx = *contexts_[secret];
    if (!gpg_[secret]) return spa::fko_open(ctx, knock.payload, message_);
    BudgetedOpener opener(*gpg_[secret], authenticated ? nullptr : gpg_budget_.get(), knock.now);
    return spa::fko_open_gpg(ctx, knock.payload, opener, message_);
}

// Without an HMAC the wire is not bound to the message: fwknop's lenient unpadding accepts
// the same message with its all-padding last block cut off, a different wire and digest.
// So such packets are also recorded by a digest of what they say.
Reject FkoJudge::record(PacketReplay &replay, const spa::FkoKeyContext &ctx) {
    const spa::FkoMessage &m = message_;
    std::array<char, 1024> text;
    size_t len = 0;
    if (!replay.decided() && ctx.hmac_type() == spa::HmacType::none) {
        int n = snprintf(
            text.data(), text.size(), "%.*s:%.*s:%lld:%d:%.*s:%.*s:%u",
            static_cast<int>(m.rand.size()), m.rand.data(), static_cast<int>(m.user.len),
            m.user.data.data(), static_cast<long long>(m.timestamp), static_cast<int>(m.type),
            static_cast<int>(m.message.len), m.message.data.data(),
            static_cast<int>(m.nat_access.len), m.nat_access.data.data(), m.client_timeout);
        len = std::min(static_cast<size_t>(std::max(n, 0)), text.size() - 1);
    }
    return replay.record({reinterpret_cast<const uint8_t *>(text.data()), len}, m.timestamp);
}

// fwknop -N "ADDR,PORT": honoured where the range allows it, to its nat_targets only. A host
// name is refused (a lookup on the knock path is unbounded), as is LOCAL_NAT (--nat-local).
Reject FkoJudge::client_nat(const spa::FkoMessage &m, Decision &d) const {
    const policy::Nat &nat = range_.nat;
    if (!nat.allow_client || spa::msg_is_local_nat(m.type) || m.nat_port == 0)
        return Reject::nat_refused;
    auto addr = policy::parse_address(m.nat_host());
    // Of the target's family: an IPv6 prefix up to /80 also holds the IPv4-mapped addresses.
    if (!addr || std::none_of(nat.targets.begin(), nat.targets.end(), [&](const policy::Cidr &c) {
            return c.base.is_v4() == addr->is_v4() && c.contains(*addr);
        }))
        return Reject::nat_refused;
    d.nat = policy::Endpoint{*addr, m.nat_port};
    return Reject::ok;
}

Reject FkoJudge::judge_message(const Knock &knock, Decision &d) const {
    const spa::FkoMessage &m = message_;
    if (range_.proof_time_s) {
        if (m.timestamp < knock.now - range_.proof_time_s) return Reject::too_old;
        if (m.timestamp > knock.now + range_.proof_time_s) return Reject::too_new;
    }
    if (!range_.users.empty() &&
        std::find(range_.users.begin(), range_.users.end(), m.user.view()) == range_.users.end())
        return Reject::user_not_allowed;
    if (m.type == spa::MsgType::command) return Reject::command_refused;
    d.nat.reset();
    if (spa::msg_has_nat(m.type)) {
        if (Reject r = client_nat(m, d); r != Reject::ok) return r;
    }

    if (range_.proof_ip) {
        std::array<uint8_t, 16> allow;
        if (!m.allow_address(allow)) return Reject::allow_ip_any_refused;
        if (allow != knock.source.bytes) return Reject::source_mismatch;
    }
    // Whatever the packet claims, only its source is ever authorized.

    d.nports = 0;
    for (size_t i = 0; i < m.port_count; ++i) {
        policy::PortRef want{static_cast<uint8_t>(m.ports[i].proto), m.ports[i].port};
        bool allowed = std::any_of(range_.open.begin(), range_.open.end(),
                                   [&](const auto &o) { return o.proto == 0 || o == want; });
        if (!allowed) return Reject::port_not_allowed;  // refused whole, as fwknopd does
        d.ports[d.nports++] = want;
    }
    if (d.nports == 0) return Reject::bad_access;

    d.timeout_s = range_.timeout_s;
    if (spa::msg_has_timeout(m.type) && m.client_timeout > 0) {
        d.timeout_s = std::min(m.client_timeout, range_.max_client_timeout_s);
    }
    return Reject::ok;
}

constexpr const char *kGpgKeys[] = {
    "gpg_home_dir",          "gpg_decrypt_id",  "gpg_decrypt_pw",
    "gpg_decrypt_pw_base64", "gpg_allow_no_pw", "gpg_remote_ids",
    "gpg_fingerprint_ids",   "gpg_require_sig", "gpg_ignore_sig_verify_error"};

// access.conf's GPG_* keywords, one to one.
spa::GpgSettings parse_gpg(const SecretFields &f) {
    spa::GpgSettings g;
    g.home_dir = f.text("gpg_home_dir", "", false);
    g.decrypt_id = f.text("gpg_decrypt_id", "", true);
    g.decrypt_pw = f.bytes("gpg_decrypt_pw", "gpg_decrypt_pw_base64", false);
    g.allow_no_pw = f.flag("gpg_allow_no_pw", false);
    if (f.has("gpg_remote_ids")) g.remote_ids = f.texts("gpg_remote_ids", false);
    if (f.has("gpg_fingerprint_ids")) g.fingerprint_ids = f.texts("gpg_fingerprint_ids", false);
    g.require_sig = f.flag("gpg_require_sig", true);
    g.ignore_sig_verify_error = f.flag("gpg_ignore_sig_verify_error", false);
    return g;
}

spa::FkoSecret parse_fko_secret(const SecretFields &f) {
    spa::FkoSecret s;
    const bool gpg = f.has("gpg_decrypt_id");
    if (gpg) {
        if (f.has("key") || f.has("key_base64"))
            f.fail("key", "a GPG secret (gpg_decrypt_id) has no key: make a second secret for it");
        if (f.has("mode")) f.fail("mode", "a GPG secret (gpg_decrypt_id) has no encryption mode");
        s.gpg = parse_gpg(f);
    } else {
        for (const char *k : kGpgKeys)
            if (f.has(k)) f.fail(k, "GPG keywords need gpg_decrypt_id (the gateway's key)");
        s.key = f.bytes("key", "key_base64", true);
    }
    s.hmac_key = f.bytes("hmac_key", "hmac_key_base64", false);
    std::string hmac = f.text("hmac", s.hmac_key.empty() ? "none" : "sha256", false);
    auto hmac_type = spa::parse_hmac_type(hmac);
    if (!hmac_type) f.fail("hmac", "unknown HMAC type '" + hmac + "'");
    s.hmac = *hmac_type;
    if ((s.hmac == spa::HmacType::none) != s.hmac_key.empty()) {
        f.fail("hmac", "an HMAC type needs hmac_key, and hmac_key needs a type");
    }
    if (!gpg) {
        std::string mode = f.text("mode", "cbc", false);
        auto m = spa::parse_mode(mode);
        if (!m) f.fail("mode", "unknown encryption mode '" + mode + "'");
        s.mode = *m;
    }
    if (const char *problem = spa::secret_problem(s)) f.fail("", problem);
    return s;
}

bool has_gpg(const policy::Range &r, bool gpg) {
    return std::any_of(r.secrets.begin(), r.secrets.end(),
                       [&](const policy::Secret &s) { return s.fko.gpg.has_value() == gpg; });
}

class Fko final : public KnockMethod {
  public:
    std::string_view name() const override { return "fko"; }

    policy::Secret parse_secret(const SecretFields &f) const override {
        f.only_keys({"label", "key", "key_base64", "hmac_key", "hmac_key_base64", "hmac", "mode",
                     "gpg_home_dir", "gpg_decrypt_id", "gpg_decrypt_pw", "gpg_decrypt_pw_base64",
                     "gpg_allow_no_pw", "gpg_remote_ids", "gpg_fingerprint_ids", "gpg_require_sig",
                     "gpg_ignore_sig_verify_error"});
        policy::Secret s;
        s.label = f.text("label", "", true);
        s.fko = parse_fko_secret(f);
        return s;
    }

    std::vector<const char *> range_keys() const override { return {"users", "gpg_per_second"}; }
    void parse_range(const SecretFields &f, policy::Range &r) const override {
        r.gpg_per_second = static_cast<uint32_t>(f.number("gpg_per_second", 10, 1, 100000));
        r.gpg_budget = std::make_shared<policy::SharedBudget>(r.gpg_per_second);
        if (!f.has("users")) return;
        r.users = f.texts("users", true);
        for (size_t i = 0; i < r.users.size(); ++i)
            if (!spa::fko_user_name_ok(r.users[i]))
                f.fail("users",
                       "entry " + std::to_string(i) + " is not a user name an fko knock can carry");
    }

    void warnings(const policy::Range &r, std::vector<std::string> &out) const override {
        for (const auto &s : r.secrets) {
            if (!s.fko.gpg) continue;
            const std::string who = "range " + r.name + ", secret " + s.label + ": ";
            if (r.takes(policy::Transport::http))
                out.push_back(who + "GPG knocks never come over http (only udp, tcpraw, icmp)");
            if (!s.fko.gpg->require_sig)
                out.push_back(who +
                              "gpg_require_sig is off: anyone with the gateway's public "
                              "key can knock");
            else if (s.fko.gpg->ignore_sig_verify_error)
                out.push_back(who +
                              "gpg_ignore_sig_verify_error: the signer's key ID is "
                              "believed without a valid signature");
        }
        if (r.proof_ip) return;
        out.push_back("range " + r.name +
                      ": proof_ip is off: whoever sees a knock on the path can resend it first "
                      "from their own address");
    }

    // The client names its ports: "*" takes one entry per protected service.
    uint32_t entries_per_source(const policy::Range &r, const policy::Config &c) const override {
        bool any = std::any_of(r.open.begin(), r.open.end(),
                               [](const policy::PortRef &p) { return p.proto == 0; });
        if (any) return static_cast<uint32_t>(std::max<size_t>(1, c.services.size()));
        return one_entry_per_open_port(r);
    }

    void add_shape(const policy::Range &r, xk_port &port) const override {
        if (has_gpg(r, false)) port.knock_shapes |= XK_KNOCK_FKO;
        if (has_gpg(r, true)) port.knock_shapes |= XK_KNOCK_GPG;
    }

    bool uses_replay(const policy::Range &) const override { return true; }
    bool replay_only_by_digest(const policy::Range &r) const override {
        return r.proof_time_s == 0;
    }
    std::unique_ptr<RangeJudge> make_judge(const policy::Range &r) const override {
        return std::make_unique<FkoJudge>(r);
    }

    void describe(const Decision &d, std::string &out) const override {
        if (d.fko) out.append(", user ").append(d.fko->user.view());
    }
};

}  // namespace

const KnockMethod &fko_method() {
    static const Fko method;
    return method;
}

}  // namespace xk::methods
