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
