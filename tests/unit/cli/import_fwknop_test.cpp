#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/import_fwknop.hpp"
#include "hooks/hook_args.hpp"
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
    EXPECT_EQ(a["open"], nlohmann::json({"tcp/22", "udp/53"}));
    EXPECT_EQ(a["secrets"][0]["hmac"], "sha512");
    EXPECT_EQ(a["secrets"][0]["label"], "access.conf:2");
    const auto &b = c["ranges"][1];
    EXPECT_EQ(b["sources"], nlohmann::json({"0.0.0.0/0", "::/0"}));
    EXPECT_EQ(b["open"], nlohmann::json({"*"}));  // fwknopd: any port when none listed
    EXPECT_EQ(b["secrets"][0]["mode"], "legacy");
    EXPECT_EQ(b["secrets"][0]["key"], "fwknoptest");
    EXPECT_EQ(c["services"], nlohmann::json({{{"name", "tcp/22"}, {"port", "tcp/22"}},
                                             {{"name", "udp/53"}, {"port", "udp/53"}}}));
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("ENABLE_CMD_EXEC"), std::string::npos);  // we never run commands

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
    refuses("KEY k\nSOURCE ANY\n", "access.conf:1");                   // before a stanza
    refuses("SOURCE 192.0.2.0/33\nKEY k\n", "access.conf:1");          // bad source
    refuses("SOURCE ANY\nGPG_REMOTE_ID ABCD1234\n", "access.conf:1");  // neither key nor GPG ID
    refuses("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/99999\n", "access.conf:3");      // bad port
    refuses("SOURCE ANY\nKEY k\nACCESS_EXPIRE 2020-01-01\n", "access.conf:3");  // not MM/DD/YYYY
    refuses("SOURCE ANY\nKEY k\nACCESS_EXPIRE_EPOCH soon\n", "access.conf:3");
    refuses("SOURCE ANY\nKEY k\nREQUIRE_USERNAME a:b\n", "access.conf:3");       // libfko bans ':'
    refuses("SOURCE ANY\nKEY k\nREQUIRE_USERNAME \xce\xdf\n", "access.conf:3");  // not ASCII
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
    // UDP services are gated too: "every UDP port but 53" has no form either.
    expect_refused("SOURCE ANY\nKEY k\nRESTRICT_PORTS udp/53\n", "",
                   "access.conf:3:", "RESTRICT_PORTS");
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

// DESTINATION: the addresses a knock may be sent to; ANY is the range's default.
TEST(ImportFwknop, DestinationCarriesOver) {
    auto r = import_fwknop("SOURCE ANY\nKEY k\nDESTINATION 192.0.2.1, 2001:db8::/64\n", "", "eth0");
    EXPECT_EQ(r.config["ranges"][0]["destinations"],
              nlohmann::json({"192.0.2.1", "2001:db8::/64"}));
    const auto c = xk::policy::parse_config(r.config.dump());
    ASSERT_EQ(c.ranges[0].destinations.size(), 2u);
    auto any = import_fwknop("SOURCE ANY\nKEY k\nDESTINATION ANY\n", "", "eth0");
    EXPECT_FALSE(any.config["ranges"][0].contains("destinations"));
    EXPECT_TRUE(any.warnings.size() == 1u) << any.warnings.size();  // only "no OPEN_PORTS"
    expect_refused("SOURCE ANY\nKEY k\nDESTINATION gateway.example\n", "",
                   "access.conf:3:", "DESTINATION gateway.example is not an address or CIDR");
    // import_fwknop_fuzz: an empty DESTINATION gave "destinations": [], which the loader refuses.
    expect_refused("SOURCE ANY\nKEY k\nDESTINATION ,\n", "",
                   "access.conf:3:", "DESTINATION names no address");
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

// ---- every value is checked on its own line (found by import_fwknop_fuzz: values copied
// unchecked made config.dump() throw (not UTF-8) or the loader fail naming a JSON key)

namespace {

// Refused naming the line and the keyword, and never quoting the key.
void expect_key_refused(const std::string &line, const std::string &keyword,
                        const std::string &secret) {
    const std::string access = "SOURCE ANY\nKEY_BASE64 AAECAwQFBgcICQoLDA0ODw==\n" + line + "\n";
    try {
        import_fwknop(access, "", "eth0");
        ADD_FAILURE() << "accepted: " << line;
    } catch (const std::runtime_error &e) {
        std::string m = e.what();
        EXPECT_EQ(m.rfind("access.conf:3: " + keyword, 0), 0u) << m;
        EXPECT_EQ(m.find(secret), std::string::npos) << "quotes the key: " << m;
    }
}

}  // namespace

TEST(ImportFwknop, KeysAreCheckedOnTheirLineAndNeverQuoted) {
    // The fuzzer's find: byte 0xcd in HMAC_KEY_BASE64 (the regression seed's input).
    expect_key_refused("HMAC_KEY_BASE64 Yh+x\xcdizBnl6Fo", "HMAC_KEY_BASE64 is not base64", "Yh+x");
    expect_key_refused("KEY_BASE64 Top\xcdSecret", "KEY_BASE64 is not base64", "Top");
    expect_key_refused("KEY_BASE64 TopSecret!!", "KEY_BASE64 is not base64", "TopSecret");
    expect_key_refused("HMAC_KEY_BASE64 ====", "HMAC_KEY_BASE64 is not base64", "====");
    expect_key_refused("KEY Top\xcdSecret", "KEY is not UTF-8", "Top");
    expect_key_refused("HMAC_KEY Top\xed\xa0\x80Secret", "HMAC_KEY is not UTF-8",
                       "Top");                                                         // surrogate
    expect_key_refused("HMAC_KEY Top\xc0\xafSecret", "HMAC_KEY is not UTF-8", "Top");  // overlong
    expect_key_refused("KEY TopSecretTopSecretTopSecretTopSecret", "KEY is longer than 32 bytes",
                       "TopSecret");
    expect_key_refused("HMAC_KEY " + std::string(137, 'k'), "HMAC_KEY is longer than 136", "kkkk");
    expect_key_refused("KEY TopSecret", "give KEY_BASE64 or KEY, not both", "TopSecret");
    expect_key_refused("HMAC_KEY:", "HMAC_KEY has no value", "\n");
    expect_key_refused(std::string("HMAC_KEY Top\0Secret", 19), "HMAC_KEY holds a NUL byte", "Top");
    // UTF-8 passphrases are carried as they are.
    auto r = import_fwknop("SOURCE ANY\nKEY pässwörd\nHMAC_KEY \xe2\x82\xac-key\n", "", "eth0");
    EXPECT_EQ(r.config["ranges"][0]["secrets"][0]["key"], "pässwörd");
    EXPECT_NO_THROW(xk::policy::parse_config(r.config.dump()));
}

TEST(ImportFwknop, DigestTypeAndModeAreCheckedOnTheirLine) {
    expect_refused("SOURCE ANY\nKEY k\nHMAC_DIGEST_TYPE crc32\n", "",
                   "access.conf:3:", "HMAC_DIGEST_TYPE crc32");
    expect_refused("SOURCE ANY\nKEY k\nHMAC_DIGEST_TYPE sha\xcd\n", "",
                   "access.conf:3:", "HMAC_DIGEST_TYPE");
    expect_refused("SOURCE ANY\nKEY k\nENCRYPTION_MODE pcbc\n", "",
                   "access.conf:3:", "ENCRYPTION_MODE pcbc");
    // Legacy IV mode cannot take an HMAC: named on the mode's line.
    expect_refused("SOURCE ANY\nKEY k\nHMAC_KEY h\nENCRYPTION_MODE legacy\n", "",
                   "access.conf:4:", "legacy");
    auto r = import_fwknop("SOURCE ANY\nKEY k\nHMAC_KEY h\nHMAC_DIGEST_TYPE SHA3-256\n", "", "e");
    EXPECT_EQ(r.config["ranges"][0]["secrets"][0]["hmac"], "sha3_256");
}

TEST(ImportFwknop, InterfaceNamesAreChecked) {
    expect_refused("SOURCE ANY\nKEY k\n", "PCAP_INTF eth\xcd;\n", "fwknopd.conf:1:", "PCAP_INTF");
    expect_refused("SOURCE ANY\nKEY k\n", "\nPCAP_INTF eth0/1;\n", "fwknopd.conf:2:", "PCAP_INTF");
    expect_refused("SOURCE ANY\nKEY k\n", "PCAP_INTF a-very-long-name0;\n",
                   "fwknopd.conf:1:", "PCAP_INTF");
    EXPECT_THROW(import_fwknop("SOURCE ANY\nKEY k\n", "", "bad\xcd"), std::runtime_error);
    auto r = import_fwknop("SOURCE ANY\nKEY k\n", "PCAP_INTF enp0s31f6;\n", "");
    EXPECT_EQ(r.config["interfaces"][0]["name"], "enp0s31f6");
}

// The PCAP_FILTER port as the regex udp\s+(?:dst\s+)?port\s+(\d+) found it (replaced by
// plain parsing: std::regex was the importer's slowest step under the fuzzer).
TEST(ImportFwknop, PcapFilterPortIsReadAsBefore) {
    auto port = [](const std::string &filter) {
        return import_fwknop("SOURCE ANY\nKEY k\n", "PCAP_FILTER " + filter + ";\n", "eth0")
            .config["ranges"][0]["port"]
            .get<int>();
    };
    EXPECT_EQ(port("udp port 40001"), 40001);
    EXPECT_EQ(port("udp\tdst  port\t40002"), 40002);
    EXPECT_EQ(port("tcp port 22 or udp port 40003 or udp port 40004"), 40003);
    EXPECT_EQ(port("xudp port 40005"), 40005);    // no word boundary in the regex either
    EXPECT_EQ(port("udp port 40006abc"), 40006);  // the digits as far as they go
    EXPECT_EQ(port("udp dstport 40007"), 62201);  // no match: the default
    EXPECT_EQ(port("udp dst 9 port 40008"), 62201);
    EXPECT_EQ(port("udp port"), 62201);
    EXPECT_EQ(port("udpport 1 udp port 40009"), 40009);
}

// ---- CMD_CYCLE_OPEN / CMD_CYCLE_CLOSE / CMD_CYCLE_TIMER → the range's hooks (issue 13)

namespace {

const nlohmann::json &hooks_of(const xk::cli::ImportResult &r) {
    return r.config["ranges"][0]["hooks"];
}

std::string cycle(const std::string &open, const std::string &close, const std::string &timer) {
    return "SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22\n" + open + "\n" + close + "\n" + timer + "\n";
}

using Argv = std::vector<std::string>;

}  // namespace

TEST(ImportFwknop, CommandCycleBecomesTheRangesHooks) {
    auto r =
        import_fwknop(cycle("CMD_CYCLE_OPEN  /bin/echo open $IP  $SRC $PKT_SRC $PROTO/$PORT x$IPy",
                            "CMD_CYCLE_CLOSE /bin/echo close $IP", "CMD_CYCLE_TIMER 45"),
                      "", "eth0");
    const auto &h = hooks_of(r);
    EXPECT_EQ(h["on_authorize"], nlohmann::json({"/bin/echo", "open", "%IP%", "%IP%", "%IP%",
                                                 "%PROTONUM%/%PORTNUM%", "x%IP%y"}));
    EXPECT_EQ(h["on_expire"], nlohmann::json({"/bin/echo", "close", "%IP%"}));
    EXPECT_FALSE(h.contains("timeout_s"));            // the runner's default
    EXPECT_EQ(r.config["ranges"][0]["timeout"], 45);  // the close runs as the grant ends
    auto loaded = xk::policy::parse_config(r.config.dump());
    // What fwknopd would run for a knock from 192.0.2.7 asking for tcp/22.
    xk::hooks::HookEvent e;
    e.ip = "192.0.2.7";
    e.ports = {"tcp/22"};
    EXPECT_EQ(
        xk::hooks::expand(loaded.ranges[0].hooks.on_authorize, e),
        (Argv{"/bin/echo", "open", "192.0.2.7", "192.0.2.7", "192.0.2.7", "6/22", "x192.0.2.7y"}));
    EXPECT_EQ(xk::hooks::expand(loaded.ranges[0].hooks.on_expire, e),
              (Argv{"/bin/echo", "close", "192.0.2.7"}));
    bool said = false;
    for (const auto &w : r.warnings) said |= w.find("on_authorize") != std::string::npos;
    EXPECT_TRUE(said) << "the gate opening the ports too is said";
}

TEST(ImportFwknop, CommandCycleTimerAndNone) {
    // CMD_CYCLE_CLOSE NONE (fwknopd: anything starting with NONE): no close, no timer needed.
    auto r = import_fwknop(
        cycle("CMD_CYCLE_OPEN /bin/true $IP", "CMD_CYCLE_CLOSE NONE", "FW_ACCESS_TIMEOUT 60"), "",
        "eth0");
    EXPECT_EQ(hooks_of(r), nlohmann::json({{"on_authorize", {"/bin/true", "%IP%"}}}));
    EXPECT_EQ(r.config["ranges"][0]["timeout"], 60);
    // The timer wins over FW_ACCESS_TIMEOUT, as in fwknopd (a cycle opens no rule of its own).
    r = import_fwknop(cycle("FW_ACCESS_TIMEOUT 60\nCMD_CYCLE_OPEN /bin/true",
                            "CMD_CYCLE_CLOSE /bin/true", "CMD_CYCLE_TIMER 90"),
                      "", "eth0");
    EXPECT_EQ(r.config["ranges"][0]["timeout"], 90);
    EXPECT_EQ(hooks_of(r)["on_expire"], nlohmann::json({"/bin/true"}));
    // No cycle, no hooks; a lone timer is only a warning.
    r = import_fwknop("SOURCE ANY\nKEY k\nCMD_CYCLE_TIMER 5\nENABLE_CMD_EXEC Y\n", "", "eth0");
    EXPECT_FALSE(r.config["ranges"][0].contains("hooks"));
    EXPECT_EQ(r.config["ranges"][0]["timeout"], 30);
}

TEST(ImportFwknop, CommandCycleRefusals) {
    const std::string open = "CMD_CYCLE_OPEN /bin/true", close = "CMD_CYCLE_CLOSE /bin/true",
                      timer = "CMD_CYCLE_TIMER 30";
    auto refused_at = [](const std::string &access, int line, const std::string &what) {
        expect_refused(access, "", "access.conf:" + std::to_string(line) + ": ", what);
    };
    // Pairs and the timer, as fwknopd requires them.
    refused_at("SOURCE ANY\nKEY k\n" + open + "\n", 3, "CMD_CYCLE_OPEN without CMD_CYCLE_CLOSE");
    refused_at("SOURCE ANY\nKEY k\n" + close + "\n", 3, "CMD_CYCLE_CLOSE without CMD_CYCLE_OPEN");
    refused_at(cycle(open, close, ""), 5, "CMD_CYCLE_CLOSE needs CMD_CYCLE_TIMER");
    refused_at(cycle(open, close, "CMD_CYCLE_TIMER 0"), 6, "CMD_CYCLE_TIMER");
    refused_at(cycle(open, close, "CMD_CYCLE_TIMER 86401"), 6, "CMD_CYCLE_TIMER");
    // Shell syntax: fwknopd runs the command with execvpe, no shell.
    for (const char *cmd : {"/bin/true a | /bin/true", "/bin/true > /tmp/x", "/bin/true a && b",
                            "/bin/true \"a b\"", "/bin/true 'a b'", "/bin/true `id`",
                            "/bin/true $(id)", "/bin/true a\\ b", "/bin/true < /etc/passwd"}) {
        refused_at(cycle(std::string("CMD_CYCLE_OPEN ") + cmd, close, timer), 4,
                   "CMD_CYCLE_OPEN needs a shell: ");
    }
    refused_at(cycle(open, "CMD_CYCLE_CLOSE /bin/true; /bin/false", timer), 5,
               "CMD_CYCLE_CLOSE needs a shell: ';'");
    // The program: absolute, executable, no substitution.
    refused_at(cycle("CMD_CYCLE_OPEN iptables -I INPUT -s $IP", close, timer), 4,
               "CMD_CYCLE_OPEN: iptables is not an absolute path");
    refused_at(cycle("CMD_CYCLE_OPEN /nonexistent/fw $IP", close, timer), 4,
               "CMD_CYCLE_OPEN: /nonexistent/fw is not an executable");
    refused_at(cycle("CMD_CYCLE_OPEN /bin/$IP", close, timer), 4, "cannot hold a substitution");
    // Substitutions with no placeholder, unknown ones (fwknopd drops their '$'), and '%'.
    for (const char *var : {"$DST", "$TIMEOUT", "$CLIENT_TIMEOUT"}) {
        refused_at(cycle(open, std::string("CMD_CYCLE_CLOSE /bin/true ") + var, timer), 5,
                   std::string(var) + " (");
    }
    refused_at(cycle("CMD_CYCLE_OPEN /bin/true $HOME", close, timer), 4, "'$HOME' is none");
    refused_at(cycle("CMD_CYCLE_OPEN /bin/true 100%IP%", close, timer), 4, "'%'");
    refused_at(cycle("CMD_CYCLE_OPEN", close, timer), 4, "CMD_CYCLE_OPEN has no command");
    refused_at(cycle("CMD_CYCLE_OPEN /bin/true a\x01", close, timer), 4, "control character");
    // Expanded right, but the loader reads "_" between the two placeholders as a name.
    refused_at(cycle("CMD_CYCLE_OPEN /bin/true fwknop_$IP_$PORT", close, timer), 4,
               "fwknop_$IP_$PORT would read as an unknown %PLACEHOLDER%");
}

// OPEN_PORTS udp/1194 (OpenVPN) becomes a protected UDP service the range opens; the knock
// port cannot be one too: refused, naming the line (the loader would refuse the result).
TEST(ImportFwknop, UdpOpenPortsBecomeUdpServices) {
    auto r = import_fwknop("SOURCE ANY\nKEY k\nOPEN_PORTS udp/1194\n", "", "eth0");
    EXPECT_EQ(r.config["ranges"][0]["open"], nlohmann::json({"udp/1194"}));
    EXPECT_EQ(r.config["services"], nlohmann::json({{{"name", "udp/1194"}, {"port", "udp/1194"}}}));
    auto loaded = xk::policy::parse_config(r.config.dump());
    EXPECT_EQ(loaded.services[0].port, (xk::policy::PortRef{17, 1194}));
    expect_refused("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22, udp/62201\n", "",
                   "access.conf:3:", "udp/62201 is the knock port");
    expect_refused("SOURCE ANY\nKEY k\nOPEN_PORTS udp/40001\n", "PCAP_FILTER udp port 40001;\n",
                   "access.conf:3:", "udp/40001 is the knock port");
    EXPECT_NO_THROW(import_fwknop("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/62201\n", "", "eth0"));
}

// PCAP_FILTER says how knocks arrive: "tcp port N" is fwknop's -P tcpraw, "icmp" -P icmp;
// a filter naming two ports, and the switches with no xdpknock form, are refused by name.
TEST(ImportFwknop, PcapFilterCarriesTheTransports) {
    auto transports = [](const std::string &fwknopd) {
        return import_fwknop("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22\n", fwknopd, "eth0")
            .config["ranges"][0];
    };
    EXPECT_FALSE(transports("PCAP_FILTER udp port 40001;\n").contains("transports"));
    auto tcp = transports("PCAP_FILTER tcp dst port 40002;\n");
    EXPECT_EQ(tcp["port"], 40002);
    EXPECT_EQ(tcp["transports"], nlohmann::json({"tcpraw"}));
    auto all = transports("PCAP_FILTER udp port 40003 or tcp port 40003 or icmp;\n");
    EXPECT_EQ(all["transports"], nlohmann::json({"udp", "tcpraw", "icmp"}));
    EXPECT_EQ(transports("PCAP_FILTER icmp;\n")["transports"], nlohmann::json({"icmp"}));
    expect_refused("SOURCE ANY\nKEY k\n", "PCAP_FILTER udp port 62201 and not icmp;\n",
                   "fwknopd.conf:1:", "negation");
    // UDP server mode: datagrams on UDPSERV_PORT, PCAP_FILTER not read.
    auto server = transports("PCAP_FILTER icmp;\nENABLE_UDP_SERVER Y;\nUDPSERV_PORT 40010;\n");
    EXPECT_EQ(server["port"], 40010);
    EXPECT_FALSE(server.contains("transports"));
    auto r = import_fwknop("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22\n",
                           "PCAP_FILTER udp port 40003 or tcp port 40003 or icmp;\n", "eth0");
    EXPECT_NO_THROW(xk::policy::parse_config(r.config.dump()));
    auto two = import_fwknop("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22\n",
                             "PCAP_FILTER udp port 1 or tcp port 2;\n", "eth0");
    EXPECT_EQ(two.config["ranges"][0]["port"], 1);
    EXPECT_FALSE(two.config["ranges"][0].contains("transports"));
    ASSERT_EQ(two.warnings.size(), 1u);
    EXPECT_NE(two.warnings[0].find("tcp port 2 not carried over"), std::string::npos);
    expect_refused("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/40002\n", "PCAP_FILTER tcp port 40002;\n",
                   "access.conf:3:", "tcp/40002 is the knock port");
    expect_refused("SOURCE ANY\nKEY k\n", "ENABLE_TCP_SERVER Y;\n", "fwknopd.conf:1:", "tcpraw");
    expect_refused("SOURCE ANY\nKEY k\nOPEN_PORTS *\n", "", "access.conf:3:", "OPEN_PORTS *");
    EXPECT_NO_THROW(import_fwknop("SOURCE ANY\nKEY k\n", "ENABLE_SPA_OVER_HTTP N;\n", "eth0"));
}

// ENABLE_SPA_OVER_HTTP Y: "http" on the knock port when fwknopd captures TCP there (a bare
// "port N" or "tcp port N", whose raw TCP knocks give way to the web server); with
// ENABLE_X_FORWARDED_FOR Y the config believes the header. Capturing no TCP, it is said.
TEST(ImportFwknop, SpaOverHttpCarriesOver) {
    auto import = [](const std::string &fwknopd) {
        return import_fwknop(
            "SOURCE ANY\nKEY_BASE64 a2V5a2V5a2V5a2V5;\nHMAC_KEY_BASE64 "
            "aG1hY2htYWNobWFjaG1hYw==;\nOPEN_PORTS tcp/22\n",
            fwknopd, "eth0");
    };
    auto bare = import("PCAP_FILTER port 80;\nENABLE_SPA_OVER_HTTP Y;\n");
    EXPECT_EQ(bare.config["ranges"][0]["port"], 80);
    EXPECT_EQ(bare.config["ranges"][0]["transports"], nlohmann::json({"udp", "http"}));
    EXPECT_FALSE(bare.config.contains("http_x_forwarded_for"));
    EXPECT_NO_THROW(xk::policy::parse_config(bare.config.dump()));
    auto xff = import(
        "PCAP_FILTER tcp port 8080;\nENABLE_SPA_OVER_HTTP Y;\n"
        "ENABLE_X_FORWARDED_FOR Y;\n");
    EXPECT_EQ(xff.config["ranges"][0]["transports"], nlohmann::json({"http"}));
    EXPECT_EQ(xff.config["http_x_forwarded_for"], true);
    EXPECT_TRUE(std::any_of(xff.warnings.begin(), xff.warnings.end(), [](const std::string &w) {
        return w.find("tcpraw knocks not carried over: tcp/8080") != std::string::npos;
    }));
    EXPECT_TRUE(xk::policy::parse_config(xff.config.dump()).http_x_forwarded_for);
    // fwknopd reads the last PCAP_FILTER: an earlier one's tcp port adds nothing.
    auto last = import(
        "PCAP_FILTER tcp port 80;\nPCAP_FILTER udp port 40001;\n"
        "ENABLE_SPA_OVER_HTTP Y;\n");
    EXPECT_EQ(last.config["ranges"][0]["port"], 40001);
    EXPECT_FALSE(last.config["ranges"][0].contains("transports"));
    auto udp_only = import("ENABLE_SPA_OVER_HTTP Y;\nENABLE_X_FORWARDED_FOR Y;\n");
    EXPECT_FALSE(udp_only.config["ranges"][0].contains("transports"));
    EXPECT_FALSE(udp_only.config.contains("http_x_forwarded_for"));
    EXPECT_TRUE(
        std::any_of(udp_only.warnings.begin(), udp_only.warnings.end(), [](const std::string &w) {
            return w.find(
                       "fwknopd.conf:1: ENABLE_SPA_OVER_HTTP Y not "
                       "carried over") == 0;
        }));
    expect_refused("SOURCE ANY\nKEY k\nOPEN_PORTS tcp/80\n",
                   "PCAP_FILTER port 80;\nENABLE_SPA_OVER_HTTP Y;\n",
                   "access.conf:3:", "tcp/80 is the knock port");
}

// REQUIRE_USERNAME and ACCESS_EXPIRE(_EPOCH) are honoured: the range's users and expiry.
TEST(ImportFwknop, RequireUsernameAndAccessExpireCarryOver) {
    setenv("TZ", "UTC", 1);  // fwknopd reads the date as local midnight: pin the zone
    tzset();
    auto r = import_fwknop(
        "SOURCE ANY\nKEY k\nREQUIRE_USERNAME alice\nACCESS_EXPIRE 01/31/2027\n"
        "SOURCE ANY\nKEY k2\nACCESS_EXPIRE_EPOCH 1800000000\n",
        "", "eth0");
    const auto &a = r.config["ranges"][0];
    EXPECT_EQ(a["users"], nlohmann::json({"alice"}));
    EXPECT_EQ(a["expires_at"], 1801353600);  // 2027-01-31T00:00:00Z
    EXPECT_EQ(r.config["ranges"][1]["expires_at"], 1800000000);
    const auto loaded = xk::policy::parse_config(r.config.dump());
    EXPECT_EQ(loaded.ranges[0].users, std::vector<std::string>{"alice"});
    EXPECT_EQ(loaded.ranges[0].expires_at, 1801353600);
}

// GPG_*: a GPG secret beside the stanza's Rijndael one (both take its HMAC key), the home
// directory from fwknopd.conf unless the stanza names one, and fwknopd's own refusals.
TEST(ImportFwknop, GpgStanzasCarryOver) {
    const std::string server = "3DAF6B95F70233C338DDB3C42EA672FFFFA552D7";
    const std::string client = "C74830300312D44E71665D1F21CDB137C1703B86";
    auto r = import_fwknop(
        "SOURCE ANY\nKEY_BASE64 wzNP62oPPgEc+kXDPQLHPOayQBuNbYUTPP+QrErNDmg=\n"
        "HMAC_KEY hmac-key\nGPG_DECRYPT_ID " +
            server +
            "\nGPG_DECRYPT_PW pw\nGPG_REMOTE_ID C1703B86, 70D82A21\n"
            "GPG_FINGERPRINT_ID " +
            client +
            "\nGPG_IGNORE_SIG_VERIFY_ERROR Y\n"
            "\nSOURCE 10.0.0.0/8\nGPG_HOME_DIR /etc/xk/gnupg\nGPG_DECRYPT_ID " +
            server + "\nGPG_ALLOW_NO_PW Y\nGPG_DISABLE_SIG Y\nGPG_EXE /bin/gpg\n",
        "GPG_HOME_DIR /var/lib/fwknop/gnupg;\n", "eth0");
    const auto &a = r.config["ranges"][0]["secrets"];
    ASSERT_EQ(a.size(), 2u);
    EXPECT_TRUE(a[0].contains("key_base64"));
    EXPECT_EQ(a[1],
              nlohmann::json({{"label", "access.conf:1:gpg"},
                              {"gpg_home_dir", "/var/lib/fwknop/gnupg"},
                              {"gpg_decrypt_id", server},
                              {"gpg_decrypt_pw", "pw"},
                              {"gpg_remote_ids", nlohmann::json::array({"C1703B86", "70D82A21"})},
                              {"gpg_fingerprint_ids", nlohmann::json::array({client})},
                              {"gpg_ignore_sig_verify_error", true},
                              {"hmac_key", "hmac-key"},
                              {"hmac", "sha256"}}));
    const auto &b = r.config["ranges"][1]["secrets"];
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0]["gpg_home_dir"], "/etc/xk/gnupg");
    EXPECT_EQ(b[0]["gpg_allow_no_pw"], true);
    EXPECT_EQ(b[0]["gpg_require_sig"], false);
    auto warned = [&](const std::string &what) {
        return std::any_of(r.warnings.begin(), r.warnings.end(),
                           [&](const std::string &w) { return w.find(what) != std::string::npos; });
    };
    EXPECT_TRUE(warned("access.conf:15: GPG_EXE not carried over"));
    EXPECT_TRUE(warned("access.conf:4: the keyring /var/lib/fwknop/gnupg is out of"));
    // What the loader makes of it (the keyring itself is checked when the workers start).
    const auto c = xk::policy::parse_config(r.config.dump());
    ASSERT_TRUE(c.ranges[0].secrets[1].fko.gpg);
    EXPECT_EQ(c.ranges[0].secrets[1].fko.gpg->remote_ids.size(), 2u);
    EXPECT_FALSE(c.ranges[1].secrets[0].fko.gpg->require_sig);

    const std::string id = "GPG_DECRYPT_ID " + server + "\n";
    expect_refused("SOURCE ANY\n" + id + "GPG_REMOTE_ID C1703B86\n", "",
                   "access.conf:2:", "GPG_DECRYPT_ID needs GPG_DECRYPT_PW or GPG_ALLOW_NO_PW Y");
    expect_refused("SOURCE ANY\n" + id + "GPG_ALLOW_NO_PW Y\n", "",
                   "access.conf:2:", "needs GPG_REMOTE_ID or GPG_FINGERPRINT_ID");
    expect_refused("SOURCE ANY\n" + id + "GPG_ALLOW_NO_PW Y\nGPG_REMOTE_ID C1703B8\n", "",
                   "access.conf:4:", "GPG_REMOTE_ID C1703B8 is not 8 hex digits");
    // fwknopd 2.6.10 never matched a 16-digit ID: carrying it would let a signer in.
    expect_refused("SOURCE ANY\n" + id + "GPG_ALLOW_NO_PW Y\nGPG_REMOTE_ID 21CDB137C1703B86\n", "",
                   "access.conf:4:", "matches only the last 8 of a fingerprint");
    expect_refused("SOURCE ANY\n" + id + "GPG_ALLOW_NO_PW Y\nGPG_FINGERPRINT_ID C1703B86\n", "",
                   "access.conf:4:", "GPG_FINGERPRINT_ID C1703B86 is not 40 hex digits");
    // As fwknopd settles the flags: the last line wins, GPG_REQUIRE_SIG Y beats
    // GPG_DISABLE_SIG Y, and a later ID list replaces an earlier one.
    auto settled = [&](const std::string &lines) {
        return import_fwknop("SOURCE ANY\n" + id + "GPG_ALLOW_NO_PW Y\n" + lines, "", "eth0")
            .config["ranges"][0]["secrets"][0];
    };
    EXPECT_FALSE(settled("GPG_REMOTE_ID C1703B86\nGPG_REQUIRE_SIG Y\nGPG_DISABLE_SIG Y\n")
                     .contains("gpg_require_sig"));
    EXPECT_FALSE(settled("GPG_REMOTE_ID C1703B86\nGPG_DISABLE_SIG Y\nGPG_DISABLE_SIG N\n")
                     .contains("gpg_require_sig"));
    EXPECT_EQ(settled("GPG_DISABLE_SIG Y\n")["gpg_require_sig"], false);
    EXPECT_FALSE(settled("GPG_REMOTE_ID C1703B86\nGPG_IGNORE_SIG_VERIFY_ERROR Y\n"
                         "GPG_IGNORE_SIG_VERIFY_ERROR N\n")
                     .contains("gpg_ignore_sig_verify_error"));
    EXPECT_EQ(settled("GPG_REMOTE_ID C1703B86\nGPG_REMOTE_ID 70D82A21\n")["gpg_remote_ids"],
              nlohmann::json::array({"70D82A21"}));
    auto loose = import_fwknop("SOURCE ANY\nKEY k\nGPG_REMOTE_ID C1703B86\n", "", "eth0");
    EXPECT_EQ(loose.config["ranges"][0]["secrets"].size(), 1u);
    EXPECT_NE(loose.warnings[0].find("access.conf:3: GPG_* keywords without GPG_DECRYPT_ID"),
              std::string::npos);
}

// Debian's own /etc/fwknop/access.conf (fwknop-server): as shipped it is refused for its
// placeholder keys; with keys, and its GPG example uncommented, for the placeholder
// passphrase; with that filled in, it imports as fwknopd reads it.
TEST(ImportFwknop, DebiansShippedAccessConfAndItsGpgExample) {
    std::ifstream f("/etc/fwknop/access.conf");
    ASSERT_TRUE(f) << "fwknop-server is not installed (scripts/install-deps.sh)";
    std::string shipped((std::istreambuf_iterator<char>(f)), {}), text = shipped;
    const int source_line = 1 + static_cast<int>(std::count(
                                    text.begin(), text.begin() + text.find("\nSOURCE") + 1, '\n'));
    expect_refused(shipped, "", "access.conf:" + std::to_string(source_line + 1) + ":",
                   "KEY_BASE64 is still __CHANGEME__");

    auto replace = [&](const std::string &from, const std::string &to) {
        const auto at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
    };
    replace("KEY_BASE64          __CHANGEME__",
            "KEY_BASE64          wzNP62oPPgEc+kXDPQLHPOayQBuNbYUTPP+QrErNDmg=");
    replace("HMAC_KEY_BASE64     __CHANGEME__", "HMAC_KEY_BASE64     aG1hYy1rZXk=");
    for (const char *k : {"#GPG_HOME_DIR", "#GPG_DECRYPT_ID", "#GPG_DECRYPT_PW", "#GPG_REQUIRE_SIG",
                          "#GPG_IGNORE_SIG_VERIFY_ERROR", "#GPG_REMOTE_ID"})
        replace(k, k + 1);
    expect_refused(text, "", "access.conf:", "GPG_DECRYPT_PW is still __CHANGEME__");
    replace("GPG_DECRYPT_PW         __CHANGEME__", "GPG_DECRYPT_PW         server-key-pw");
    auto r = import_fwknop(text, "", "eth0");
    const auto &secrets = r.config["ranges"][0]["secrets"];
    ASSERT_EQ(secrets.size(), 2u);
    EXPECT_EQ(secrets[1]["gpg_decrypt_id"], "ABCD1234");
    EXPECT_EQ(secrets[1]["gpg_home_dir"], "/homedir/path/.gnupg");
    EXPECT_EQ(secrets[1]["gpg_remote_ids"], nlohmann::json::array({"1234ABCD"}));
    EXPECT_FALSE(secrets[1].contains("gpg_ignore_sig_verify_error"));
    EXPECT_EQ(secrets[1]["hmac_key_base64"], "aG1hYy1rZXk=");
    EXPECT_TRUE(xk::policy::parse_config(r.config.dump()).ranges[0].secrets[1].fko.gpg);
}

// fwknopd's NAT access: FORCE_NAT "IP PORT" is the range's nat.to (IPv6 in brackets),
// FORCE_SNAT / FORCE_MASQUERADE its snat; a translation without FORCE_NAT, a bad address and
// DISABLE_DNAT / FORWARD_ALL stay refused; ENABLE_IPT_FORWARDING's client requests are said,
// not carried (they need nat_targets).
TEST(ImportFwknop, ForceNatBecomesTheRangesNatAccess) {
    auto r = import_fwknop(
        "SOURCE ANY\nKEY k\nOPEN_PORTS tcp/22\nFORCE_NAT 192.168.1.100 22\n"
        "FORCE_SNAT 198.51.100.1\n",
        "ENABLE_IPT_FORWARDING Y\n", "eth0");
    const auto &range = r.config["ranges"][0];
    EXPECT_EQ(range["nat"], nlohmann::json({{"to", "192.168.1.100:22"}}));
    EXPECT_EQ(range["snat"], "198.51.100.1");
    EXPECT_NO_THROW(xk::policy::parse_config(r.config.dump()));
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings[0].find("fwknopd.conf:1: ENABLE_IPT_FORWARDING Y: clients' NAT"),
              std::string::npos)
        << r.warnings[0];
    auto v6 = import_fwknop("SOURCE ANY\nKEY k\nFORCE_NAT fd00::5 3389\nFORCE_MASQUERADE Y\n", "",
                            "eth0");
    EXPECT_EQ(v6.config["ranges"][0]["nat"]["to"], "[fd00::5]:3389");
    EXPECT_EQ(v6.config["ranges"][0]["snat"], "masquerade");
    auto off =
        import_fwknop("SOURCE ANY\nKEY k\nFORCE_NAT 10.0.0.1 22\nFORCE_MASQUERADE N\n", "", "eth0");
    EXPECT_FALSE(off.config["ranges"][0].contains("snat"));
    expect_refused("SOURCE ANY\nKEY k\nFORCE_NAT nas.lan 22\n", "", "access.conf:3:", "FORCE_NAT");
    expect_refused("SOURCE ANY\nKEY k\nFORCE_NAT 10.0.0.1\n", "", "access.conf:3:", "FORCE_NAT");
    expect_refused("SOURCE ANY\nKEY k\nFORCE_NAT 10.0.0.1 0\n", "", "access.conf:3:", "FORCE_NAT");
    expect_refused("SOURCE ANY\nKEY k\nFORCE_MASQUERADE Y\n", "",
                   "access.conf:3:", "FORCE_MASQUERADE");
    expect_refused("SOURCE ANY\nKEY k\nFORCE_NAT 10.0.0.1 22\nFORCE_SNAT eth0\n", "",
                   "access.conf:4:", "FORCE_SNAT");
}
