#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "cli/import_fwknop.hpp"
#include "policy/config.hpp"

using xk::cli::import_fwknop;

namespace {

const char *kAccess = R"(# two stanzas, fwknopd's syntax
SOURCE                  192.0.2.0/24, 2001:db8::/32
OPEN_PORTS              tcp/22, udp/53
KEY_BASE64              wzNP62oPPgEc+kXDPQLHPOayQBuNbYUTPP+QrErNDmg=
HMAC_KEY_BASE64         Yh+xizBnl6FotC5ec7FanVGClRMlsOAPh2u6eovnerfBVKwaVKzjGoblFMHMc593TNyi0dWn4opLoTIV9q/ttg==
HMAC_DIGEST_TYPE        SHA512
FW_ACCESS_TIMEOUT       45
REQUIRE_SOURCE_ADDRESS  Y
ENABLE_CMD_EXEC         Y

SOURCE      ANY
KEY         fwknoptest
ENCRYPTION_MODE legacy
)";

const char *kFwknopd = R"(PCAP_INTF   eth1;
PCAP_FILTER udp port 40001;
MAX_SPA_PACKET_AGE 60;
)";

}  // namespace

TEST(ImportFwknop, CarriesEveryStanzaOverAndLoads) {
    auto r = import_fwknop(kAccess, kFwknopd, "");
    const auto &c = r.config;
    EXPECT_EQ(c["interfaces"][0]["name"], "eth1");  // PCAP_INTF
    ASSERT_EQ(c["ranges"].size(), 2u);
    const auto &a = c["ranges"][0];
    EXPECT_EQ(a["port"], 40001);  // from PCAP_FILTER
    EXPECT_EQ(a["proof_time"], 60);
    EXPECT_EQ(a["timeout"], 45);
    EXPECT_EQ(a["proof_ip"], true);
    EXPECT_EQ(a["sources"], nlohmann::json({"192.0.2.0/24", "2001:db8::/32"}));
    EXPECT_EQ(a["open"], nlohmann::json({"tcp/22"}));  // udp/53: the gate holds TCP only
    EXPECT_EQ(a["secrets"][0]["hmac"], "sha512");
    EXPECT_EQ(a["secrets"][0]["label"], "access.conf:2");
    const auto &b = c["ranges"][1];
    EXPECT_EQ(b["sources"], nlohmann::json({"0.0.0.0/0", "::/0"}));
    EXPECT_EQ(b["open"], nlohmann::json({"*"}));  // fwknopd: any port when none listed
    EXPECT_EQ(b["secrets"][0]["mode"], "legacy");
    EXPECT_EQ(b["secrets"][0]["key"], "fwknoptest");
    EXPECT_EQ(c["services"], nlohmann::json({{{"name", "tcp/22"}, {"port", "tcp/22"}}}));
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_NE(r.warnings[0].find("udp/53"), std::string::npos);
    EXPECT_NE(r.warnings[1].find("ENABLE_CMD_EXEC"), std::string::npos);  // we never run commands

    auto loaded = xk::policy::parse_config(c.dump());
    EXPECT_EQ(loaded.ranges[0].secrets[0].fko.hmac, xk::spa::HmacType::sha512);
    EXPECT_EQ(loaded.ranges[1].secrets[0].fko.mode, xk::spa::Mode::legacy);
}

TEST(ImportFwknop, AgingOffAndInterfaceOverride) {
    auto r = import_fwknop("SOURCE ANY\nKEY k\n", "ENABLE_SPA_PACKET_AGING N;\n", "gw-out");
    EXPECT_EQ(r.config["ranges"][0]["proof_time"], 0);
    EXPECT_EQ(r.config["ranges"][0]["port"], 62201);
    EXPECT_EQ(r.config["interfaces"][0]["name"], "gw-out");
}

TEST(ImportFwknop, RefusesWhatCannotBeCarriedOver) {
    auto refuses = [](const std::string &access, const std::string &where) {
        try {
            import_fwknop(access, "", "eth0");
            ADD_FAILURE() << "accepted: " << access;
        } catch (const std::runtime_error &e) {
            EXPECT_EQ(std::string(e.what()).rfind(where, 0), 0u) << e.what();
        }
    };
    refuses("KEY k\nSOURCE ANY\n", "access.conf:1");                            // before a stanza
    refuses("SOURCE 192.0.2.0/33\nKEY k\n", "access.conf:1");                   // bad source
    refuses("SOURCE ANY\nGPG_REMOTE_ID ABCD\n", "access.conf:1");               // GPG only: no key
    refuses("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/99999\n", "access.conf:3");      // bad port
    refuses("SOURCE ANY\nKEY k\nOPEN_PORTS udp/53\n", "access.conf:3");         // nothing to gate
    refuses("SOURCE ANY\nKEY k\nACCESS_EXPIRE 01/01/2020\n", "access.conf:3");  // a restriction
    refuses("SOURCE ANY\nKEY k\nREQUIRE_USERNAME alice\n", "access.conf:3");
    refuses("# nothing\n", "access.conf: no SOURCE");
}

TEST(ImportFwknop, AHashInsideAKeyIsPartOfTheKey) {
    auto r = import_fwknop("SOURCE ANY\n# a comment line\nKEY pass#word123\n", "", "eth0");
    EXPECT_EQ(r.config["ranges"][0]["secrets"][0]["key"], "pass#word123");
}

namespace {

// The import must fail, naming the file and line first and the keyword somewhere after.
void expect_refused(const std::string &access, const std::string &fwknopd, const std::string &where,
                    const std::string &keyword) {
    try {
        import_fwknop(access, fwknopd, "eth0");
        ADD_FAILURE() << "accepted: " << access << fwknopd;
    } catch (const std::runtime_error &e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind(where, 0), 0u) << m;
        EXPECT_NE(m.find(keyword), std::string::npos) << m;
    }
}

const nlohmann::json &open_of(const xk::cli::ImportResult &r) {
    return r.config["ranges"][0]["open"];
}

}  // namespace

// Issue 16: a stanza with RESTRICT_PORTS and no OPEN_PORTS became open: ["*"].
TEST(ImportFwknop, RestrictPortsWithoutOpenPortsIsRefusedNamingTheStanza) {
    expect_refused("SOURCE 192.0.2.0/24\nKEY k\nRESTRICT_PORTS tcp/22\n", "",
                   "access.conf:3:", "RESTRICT_PORTS");
    expect_refused("SOURCE 192.0.2.0/24\nKEY k\nRESTRICT_PORTS tcp/22\n", "",
                   "access.conf:3:", "stanza SOURCE 192.0.2.0/24 at line 1");
    // UDP is never gated: restricting it changes nothing the gate does.
    auto r = import_fwknop("SOURCE ANY\nKEY k\nRESTRICT_PORTS udp/53\n", "", "eth0");
    EXPECT_EQ(open_of(r), nlohmann::json({"*"}));
}

TEST(ImportFwknop, RestrictPortsAreLeftOutOfOpenPorts) {
    // Before or after OPEN_PORTS, as fwknopd reads the whole stanza.
    for (const char *access :
         {"SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22, tcp/80, tcp/443\nRESTRICT_PORTS tcp/80\n",
          "SOURCE ANY\nKEY k\nRESTRICT_PORTS tcp/80, udp/53\nOPEN_PORTS tcp/22,tcp/80,tcp/443\n"}) {
        auto r = import_fwknop(access, "", "eth0");
        EXPECT_EQ(open_of(r), nlohmann::json({"tcp/22", "tcp/443"})) << access;
        EXPECT_NO_THROW(xk::policy::parse_config(r.config.dump()));
    }
    expect_refused("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22\nRESTRICT_PORTS tcp/22\n", "",
                   "access.conf:4:", "RESTRICT_PORTS takes every OPEN_PORTS port");
    expect_refused("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22\nRESTRICT_PORTS tcp/0\n", "",
                   "access.conf:4:", "RESTRICT_PORTS tcp/0");
}

TEST(ImportFwknop, DestinationOnlyCarriesAsAny) {
    expect_refused("SOURCE ANY\nKEY k\nDESTINATION 192.0.2.1\n", "",
                   "access.conf:3:", "DESTINATION 192.0.2.1");
    auto r = import_fwknop("SOURCE ANY\nKEY k\nDESTINATION ANY\n", "", "eth0");
    EXPECT_TRUE(r.warnings.size() == 1u) << r.warnings.size();  // only "no OPEN_PORTS"
}

// Issue 16: `udp port 70000` became port 4464; stoul also took "30s" and "-1".
TEST(ImportFwknop, EveryNumberIsRangeChecked) {
    expect_refused("SOURCE ANY\nKEY k\n", "PCAP_FILTER udp port 70000;\n",
                   "fwknopd.conf:1:", "70000");
    expect_refused("SOURCE ANY\nKEY k\n", "PCAP_FILTER udp dst port 0;\n",
                   "fwknopd.conf:1:", "PCAP_FILTER");
    expect_refused("SOURCE ANY\nKEY k\n", "\nMAX_SPA_PACKET_AGE 0;\n",
                   "fwknopd.conf:2:", "MAX_SPA_PACKET_AGE");
    expect_refused("SOURCE ANY\nKEY k\n", "MAX_SPA_PACKET_AGE 12abc;\n",
                   "fwknopd.conf:1:", "MAX_SPA_PACKET_AGE");
    for (const char *t : {"0", "86401", "30s", "-1", "4294967326", ""}) {
        expect_refused(std::string("SOURCE ANY\nKEY k\nFW_ACCESS_TIMEOUT ") + t + "\n", "",
                       "access.conf:3:", "FW_ACCESS_TIMEOUT");
    }
    expect_refused("SOURCE ANY\nKEY k\nMAX_FW_TIMEOUT 70000\n", "",
                   "access.conf:3:", "MAX_FW_TIMEOUT");
    auto r = import_fwknop("SOURCE ANY\nKEY k\nFW_ACCESS_TIMEOUT 86400\n",
                           "PCAP_FILTER udp port 65535;\nMAX_SPA_PACKET_AGE 86400;\n", "eth0");
    EXPECT_EQ(r.config["ranges"][0]["timeout"], 86400);
    EXPECT_EQ(r.config["ranges"][0]["port"], 65535);
    EXPECT_EQ(r.config["ranges"][0]["proof_time"], 86400);
}

TEST(ImportFwknop, ReadsKeywordsAsFwknopdDoes) {
    // REQUIRE_SOURCE is fwknopd's synonym for REQUIRE_SOURCE_ADDRESS (it was dropped).
    auto r = import_fwknop("SOURCE: 192.0.2.0/24;\nKEY: k;\nREQUIRE_SOURCE Y\n", "", "eth0");
    const auto &range = r.config["ranges"][0];
    EXPECT_EQ(range["proof_ip"], true);
    EXPECT_EQ(range["sources"], nlohmann::json({"192.0.2.0/24"}));
    EXPECT_EQ(range["secrets"][0]["key"], "k");
    for (const char *k : {"CMD_CYCLE_OPEN iptables", "FORCE_SNAT 192.0.2.9", "DISABLE_DNAT Y",
                          "FORWARD_ALL Y", "%include /etc/fwknop/more.conf"}) {
        std::string keyword = std::string(k).substr(0, std::string(k).find(' '));
        expect_refused(std::string("SOURCE ANY\nKEY k\n") + k + "\n", "",
                       "access.conf:3:", keyword);
    }
    expect_refused("SOURCE ANY\nKEY __CHANGEME__\n", "", "access.conf:2:", "__CHANGEME__");
}

// ---- key files: secrets for `send` / `decode` that never sit on a command line

using xk::cli::parse_key_file;

TEST(KeyFile, ReadsFwknopKeyLines) {
    auto s = parse_key_file(
        "# from access.conf\n"
        "KEY_BASE64:       AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
        "HMAC_KEY_BASE64   aGVsbG8taG1hYy1rZXk=\n"
        "\n"
        "HMAC_DIGEST_TYPE  SHA512\n"
        "ENCRYPTION_MODE   CTR\n",
        "keys.conf");
    ASSERT_EQ(s.fko.key.size(), 32u);
    EXPECT_EQ(s.fko.key[31], 31);
    EXPECT_EQ(std::string(s.fko.hmac_key.begin(), s.fko.hmac_key.end()), "hello-hmac-key");
    EXPECT_EQ(s.fko.hmac, xk::spa::HmacType::sha512);
    EXPECT_EQ(s.fko.mode, xk::spa::Mode::ctr);
    EXPECT_EQ(s.label, "keys.conf");

    // Passphrases keep every byte after the keyword ('#' and ';' included); the command
    // line's digest type and mode apply when the file names none.
    auto p = parse_key_file("KEY pass;word #1\nHMAC_KEY hmac key\n", "-", "sha384", "cfb");
    EXPECT_EQ(std::string(p.fko.key.begin(), p.fko.key.end()), "pass;word #1");
    EXPECT_EQ(std::string(p.fko.hmac_key.begin(), p.fko.hmac_key.end()), "hmac key");
    EXPECT_EQ(p.fko.hmac, xk::spa::HmacType::sha384);
    EXPECT_EQ(p.fko.mode, xk::spa::Mode::cfb);
    auto no_hmac = parse_key_file("KEY k\n", "-");
    EXPECT_EQ(no_hmac.fko.hmac, xk::spa::HmacType::none);
}

TEST(KeyFile, RefusesWhatItCannotReadAndNeverQuotesAKey) {
    auto refused = [](const std::string &text, const std::string &where) {
        try {
            parse_key_file(text, "keys.conf");
            ADD_FAILURE() << "accepted: " << text;
        } catch (const xk::policy::ConfigError &e) {
            std::string m = e.what();
            EXPECT_EQ(m.rfind(where, 0), 0u) << m;
            EXPECT_EQ(m.find("TopSecret"), std::string::npos) << m;
        }
    };
    refused("KEY TopSecret\nHMAC_KEY_BAS64 TopSecret2\n", "keys.conf:2: HMAC_KEY_BAS64");
    refused("KEY TopSecret\nKEY TopSecret2\n", "keys.conf:2: KEY is given twice");
    refused("KEY TopSecret\nKEY_BASE64 VG9wU2VjcmV0\n", "keys.conf: give KEY or KEY_BASE64");
    refused("HMAC_KEY TopSecret\n", "keys.conf: no KEY");
    refused("KEY_BASE64 TopSecret!!\n", "keys.conf: KEY_BASE64 is not base64");
    refused("KEY_BASE64\n", "keys.conf:1: KEY_BASE64 has no value");
    refused("KEY TopSecret\nHMAC_KEY TopSecret\nHMAC_DIGEST_TYPE crc32\n",
            "keys.conf: unknown HMAC_DIGEST_TYPE");
    refused("SPA_SERVER gw.example\nKEY TopSecret\n", "keys.conf:1: SPA_SERVER");
    refused("", "keys.conf: no KEY");
}
