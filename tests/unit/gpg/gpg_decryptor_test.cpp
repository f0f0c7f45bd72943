// GPG mode with the real gpg (GnuPG 2.2, through gpgme): keys made here, messages made by the
// gpg command line as fwknop's client makes them (encrypted to the gateway, signed by the
// client), each verdict of libfko's and fwknopd's rules, the load-time checks that name the
// keyword, and the per-range budget for GPG work no HMAC vouched for.

#include <gtest/gtest.h>

#include "../../common/run_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gpg/gpg_decryptor.hpp"
#include "policy/knock_policy.hpp"
#include "policy/replay_cache.hpp"
#include "spa/fko_encode.hpp"

namespace xk::spa {
void PrintTo(Reject r, std::ostream *os) {
    *os << reject_name(r);
}
}  // namespace xk::spa

using namespace xk;
using spa::Reject;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string &cmd) {
    int status = 0;
    std::string out = test::run_command(cmd, &status);
    EXPECT_EQ(status, 0) << cmd << "\n" << out;
    return out;
}

// Keyrings: the gateway (no passphrase), a gateway key with one, the client (whose key the
// gateway holds and certified), a known but uncertified key, and a stranger.
class GpgKeys : public ::testing::Test {
  protected:
    static inline fs::path dir;
    static inline std::string server, locked, client, uncertified, stranger;

    static std::string home(const std::string &who) { return (dir / who).string(); }
    static std::string gpg(const std::string &who) {
        return "gpg --homedir " + home(who) + " --batch --yes --quiet ";
    }
    // The gateway: RSA-2048 with an RSA encryption subkey (fwknop's wire needs RSA; gpg's
    // default RSA-3072 takes seconds to make). The rest: curve keys, judged alike by gpgme.
    static std::string make_key(const std::string &who, const std::string &algo,
                                const std::string &pw = "", const std::string &subkey = "") {
        fs::create_directories(home(who));
        fs::permissions(home(who), fs::perms::owner_all);
        // A fixed passphrase-hashing count: calibrating it costs the agent seconds.
        std::ofstream(fs::path(home(who)) / "gpg-agent.conf") << "s2k-count 65536\n";
        const std::string batch = gpg(who) + "--pinentry-mode loopback --passphrase '" + pw + "' ";
        run(batch + "--quick-gen-key 'xk " + who + " <" + who + "@xk.test>' " + algo +
            " 2>/dev/null");
        std::string fpr = run(gpg(who) +
                              "--list-secret-keys --with-colons | awk -F: "
                              "'/^fpr/ {print $10; exit}'");
        fpr.erase(fpr.find_last_not_of('\n') + 1);
        if (!subkey.empty()) run(batch + "--quick-add-key " + fpr + " " + subkey + " 2>/dev/null");
        return fpr;
    }
    static void give(const std::string &from, const std::string &fpr, const std::string &to) {
        run(gpg(from) + "--export " + fpr + " | " + gpg(to) + "--import 2>/dev/null");
    }

    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/xk-gpg-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        server = make_key("server", "rsa2048 cert never", "", "rsa2048 encr never");
        locked = make_key("locked", "future-default default never", "s3cret");
        client = make_key("client", "ed25519 sign never");
        uncertified = make_key("uncertified", "ed25519 sign never");
        stranger = make_key("stranger", "ed25519 sign never");
        for (const auto &[who, fpr] : {std::pair{"client", client}, {"uncertified", uncertified}})
            give(who, fpr, "server");
        give("server", server, "client");
        give("locked", locked, "client");
        give("server", server, "stranger");
        give("server", server, "uncertified");
        run(gpg("server") + "--quick-lsign-key " + client + " 2>/dev/null");
    }
    static void TearDownTestSuite() {
        for (const char *who : {"server", "locked", "client", "uncertified", "stranger"})
            std::system(("gpgconf --homedir " + home(who) + " --kill gpg-agent").c_str());
        fs::remove_all(dir);
    }

    // What `fwknop --gpg-recipient-key TO --gpg-signer-key BY` sends before base64: the
    // plaintext encrypted to `to`, signed by `by`'s key (none: unsigned), binary.
    static std::vector<uint8_t> message(const std::string &text, const std::string &to,
                                        const std::string &by) {
        const std::string who = by.empty() ? "client" : by;
        const fs::path in = dir / "plain", out = dir / "msg.gpg";
        std::ofstream(in) << text;
        run(gpg(who) + "--trust-model always -r " + to + (by.empty() ? "" : " --sign") + " -o " +
            out.string() + " --encrypt " + in.string());
        std::ifstream f(out, std::ios::binary);
        return {std::istreambuf_iterator<char>(f), {}};
    }

    static spa::GpgSettings settings() {
        spa::GpgSettings g;
        g.home_dir = home("server");
        g.decrypt_id = server;
        g.allow_no_pw = true;
        g.fingerprint_ids = {client};
        return g;
    }

    static Reject open(const spa::GpgSettings &g, const std::vector<uint8_t> &m,
                       std::string *plain = nullptr) {
        std::string error;
        auto d = gpg::GpgDecryptor::create(g, error);
        EXPECT_TRUE(d) << error;
        if (!d) return Reject::crypto_error;
        std::string buf(1500, '\0');
        size_t len = 0;
        Reject r = d->open(m, buf, len);
        if (plain && r == Reject::ok) *plain = buf.substr(0, len);
        return r;
    }

    static std::string create_error(const spa::GpgSettings &g) {
        std::string error;
        EXPECT_FALSE(gpg::GpgDecryptor::create(g, error));
        return error;
    }
};

TEST_F(GpgKeys, SignedByTheListedClientOpens) {
    std::string plain;
    EXPECT_EQ(open(settings(), message("the plaintext", server, "client"), &plain), Reject::ok);
    EXPECT_EQ(plain, "the plaintext");
    spa::GpgSettings by_id = settings();
    by_id.fingerprint_ids.clear();
    by_id.remote_ids = {client.substr(32)};  // the 8-digit ID fwknopd prints
    EXPECT_EQ(open(by_id, message("x", server, "client")), Reject::ok);
    by_id.remote_ids = {client.substr(24)};  // and the 16-digit one gpg prints
    EXPECT_EQ(open(by_id, message("x", server, "client")), Reject::ok);
}

TEST_F(GpgKeys, EachSignatureRuleRefusesForItsReason) {
    EXPECT_EQ(open(settings(), message("x", server, "")), Reject::gpg_no_signature);
    // Signed by a key the gateway does not have, or has but never certified.
    EXPECT_EQ(open(settings(), message("x", server, "stranger")), Reject::gpg_bad_signature);
    EXPECT_EQ(open(settings(), message("x", server, "uncertified")), Reject::gpg_bad_signature);
    // Valid, but not the listed signer; and both lists must name the signer (as fwknopd).
    spa::GpgSettings other = settings();
    other.fingerprint_ids = {uncertified};
    other.ignore_sig_verify_error = true;
    EXPECT_EQ(open(other, message("x", server, "client")), Reject::gpg_signer_not_allowed);
    spa::GpgSettings both = settings();
    both.remote_ids = {uncertified.substr(32)};
    EXPECT_EQ(open(both, message("x", server, "client")), Reject::gpg_signer_not_allowed);
    both.remote_ids = {client.substr(32)};
    EXPECT_EQ(open(both, message("x", server, "client")), Reject::ok);
}

TEST_F(GpgKeys, SignatureOptionsAsInFwknop) {
    // gpg_ignore_sig_verify_error: the signer's ID is believed without a valid signature.
    spa::GpgSettings lax = settings();
    lax.fingerprint_ids.clear();
    lax.remote_ids = {stranger.substr(24)};
    lax.ignore_sig_verify_error = true;
    EXPECT_EQ(open(lax, message("x", server, "stranger")), Reject::ok);
    EXPECT_EQ(open(lax, message("x", server, "")), Reject::gpg_no_signature);
    // gpg_require_sig off: no signature needed, and none is judged.
    spa::GpgSettings none = settings();
    none.require_sig = false;
    EXPECT_EQ(open(none, message("x", server, "")), Reject::ok);
    EXPECT_EQ(open(none, message("x", server, "stranger")), Reject::ok);
}

TEST_F(GpgKeys, MessagesNotForTheGatewayFail) {
    EXPECT_EQ(open(settings(), message("x", locked, "client")), Reject::gpg_decrypt_failed);
    std::vector<uint8_t> junk(700, 0x5a);
    junk[0] = 0x85;
    EXPECT_EQ(open(settings(), junk), Reject::gpg_decrypt_failed);
}

// The passphrase goes to the gateway's key only: a message sealed with that same text as a
// symmetric passphrase (alone, or beside a session key for another key) opens nothing.
TEST_F(GpgKeys, ThePassphraseGoesOnlyToTheGatewaysKey) {
    spa::GpgSettings g = settings();
    g.home_dir = home("locked");
    g.decrypt_id = locked;
    g.allow_no_pw = false;
    g.decrypt_pw = spa::secret_from_passphrase("s3cret");
    g.require_sig = false;
    EXPECT_EQ(open(g, message("x", locked, "")), Reject::ok);
    const fs::path in = dir / "plain", out = dir / "sym.gpg";
    std::ofstream(in) << "x";
    const std::string sym = gpg("client") + "--pinentry-mode loopback --passphrase s3cret ";
    run(sym + "-o " + out.string() + " --symmetric " + in.string());
    auto read = [&] {
        std::ifstream f(out, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
    };
    EXPECT_EQ(open(g, read()), Reject::gpg_decrypt_failed);
    run(sym + "--trust-model always -r " + server + " -o " + out.string() +
        " --symmetric --encrypt " + in.string());
    EXPECT_EQ(open(g, read()), Reject::gpg_decrypt_failed);
}

// gpg writes into the caller's buffer and is stopped one byte past it: a small message that
// decompresses to far more than any knock costs no memory.
TEST_F(GpgKeys, APlaintextThatDoesNotFitStopsGpg) {
    const std::string big(200000, 'A');
    const auto m = message(big, server, "client");
    EXPECT_LT(m.size(), 1500u);  // compressed: it would fit in a datagram
    EXPECT_EQ(open(settings(), m), Reject::bad_plaintext_length);
    EXPECT_EQ(open(settings(), message(std::string(1500, 'A'), server, "client")), Reject::ok);
}

TEST_F(GpgKeys, LoadNamesTheKeywordThatIsWrong) {
    spa::GpgSettings g = settings();
    g.home_dir = home("nowhere");
    EXPECT_NE(create_error(g).find("gpg_home_dir"), std::string::npos);
    g = settings();
    g.decrypt_id = stranger;
    EXPECT_NE(create_error(g).find("gpg_decrypt_id " + stranger + ": no secret key"),
              std::string::npos);
    g = settings();
    g.home_dir = home("locked");
    g.decrypt_id = locked;
    EXPECT_NE(create_error(g).find("gpg_allow_no_pw"), std::string::npos);
    g.allow_no_pw = false;
    g.decrypt_pw = spa::secret_from_passphrase("wrong");
    EXPECT_NE(create_error(g).find("does not open with gpg_decrypt_pw"), std::string::npos);
    g.decrypt_pw = spa::secret_from_passphrase("s3cret");
    std::string error;
    EXPECT_TRUE(gpg::GpgDecryptor::create(g, error)) << error;
}

// Through the fko method: the real message as the wire carries it opens the range; without
// an HMAC, junk in GPG's shape costs at most gpg_per_second decryptions a second; with one,
// junk costs none.
TEST_F(GpgKeys, RangeBudgetBoundsGpgWorkNoHmacVouchedFor) {
    auto config = [&](const std::string &hmac) {
        return policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
          "services": [{"name": "ssh", "port": "tcp/22"}],
          "ranges": [{"name": "gpg", "method": "fko", "open": ["tcp/22"], "gpg_per_second": 3,
                      "proof_time": 0,
                      "secrets": [{"label": "alice", "gpg_home_dir": ")" +
                                    home("server") + R"(", "gpg_decrypt_id": ")" + server +
                                    R"(", "gpg_allow_no_pw": true, "gpg_fingerprint_ids": [")" +
                                    client + "\"]" + hmac + "}]}]}");
    };
    auto junk = [](int i) {
        std::string w(698, 'A' + static_cast<char>(i % 26));  // "hQ" + 698: whole groups
        w[0] = 'G';
        w[1] = static_cast<char>('a' + i % 26);
        w[2] = static_cast<char>('a' + i / 26);
        return w;
    };
    auto knock = [](const std::string &w) {
        methods::Knock k;
        k.source = *policy::parse_address("192.0.2.7");
        k.port = 62201;
        k.payload = {reinterpret_cast<const uint8_t *>(w.data()), w.size()};
        k.now = 1700000000;
        return k;
    };
    policy::Config bare = config("");
    policy::ReplayCache replay("", 240);
    policy::KnockPolicy p(bare, &replay);
    int decrypted = 0, limited = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) {
        Reject r = p.check(knock(junk(i))).reason;
        decrypted += r == Reject::gpg_decrypt_failed;
        limited += r == Reject::gpg_rate_limited;
    }
    // A second's worth at once, then 3 a second: a slow gpg lets the budget refill a little.
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(decrypted, 3);
    EXPECT_LE(decrypted, 3 + static_cast<int>(took * 3));
    EXPECT_EQ(decrypted + limited, 10);
    EXPECT_GE(limited, 1);
    // Junk refused before gpg (here: base64 of an impossible length) costs no budget.
    policy::Config bare2 = config("");
    policy::KnockPolicy p2(bare2, &replay);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(p2.check(knock(junk(i + 40) + "B")).reason, Reject::bad_base64);
    EXPECT_EQ(p2.check(knock(junk(60))).reason, Reject::gpg_decrypt_failed);

    policy::Config with_hmac = config(R"(, "hmac_key": "gpg-hmac-key")");
    policy::ReplayCache replay2("", 240);
    policy::KnockPolicy q(with_hmac, &replay2);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(q.check(knock(junk(i + 20))).reason, Reject::hmac_mismatch);

    // The real thing: fwknop's plaintext, encrypted and signed by gpg, wrapped with the HMAC.
    std::string error;
    auto kc = spa::FkoKeyContext::create(with_hmac.ranges[0].secrets[0].fko, error);
    ASSERT_TRUE(kc) << error;
    spa::FkoRequest req;
    req.user = "alice";
    req.timestamp = 1700000000;
    req.message = "192.0.2.7,tcp/22";
    std::string plain(1500, '\0'), wire(1500, '\0');
    size_t n = 0;
    ASSERT_EQ(spa::fko_encode_plaintext(*kc, req, plain, n), Reject::ok);
    plain.resize(n);
    const auto m = message(plain, server, "client");
    ASSERT_EQ(spa::fko_wrap_gpg(*kc, m, wire, n), Reject::ok);
    wire.resize(n);
    methods::Decision d = q.check(knock(wire));
    ASSERT_EQ(d.reason, Reject::ok);
    ASSERT_EQ(d.nports, 1u);
    EXPECT_EQ(d.ports[0], (policy::PortRef{6, 22}));
    EXPECT_EQ(q.check(knock(wire)).reason, Reject::replay);

    // An authentic knock gpg refuses (here: signed by a key the gateway never certified) is
    // remembered too: its copies cost no gpg run.
    std::string bad(1500, '\0');
    ASSERT_EQ(spa::fko_wrap_gpg(*kc, message(plain, server, "uncertified"), bad, n), Reject::ok);
    bad.resize(n);
    EXPECT_EQ(q.check(knock(bad)).reason, Reject::gpg_bad_signature);
    EXPECT_EQ(q.check(knock(bad)).reason, Reject::replay);
}

}  // namespace
