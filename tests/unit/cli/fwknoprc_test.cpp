#include "cli/fwknoprc.hpp"

#include <gtest/gtest.h>

#include <string>

#include "spa/fko_secret.hpp"

using xk::cli::parse_fwknoprc;
using xk::policy::ConfigError;

namespace {

const char *kKey = "QRsABNTe8zzTKsyCAmlR53YTp1Ya/pYYWlAg6pAVcAY=";
const char *kHmac =
    "Nj/rYCtoNVB+tic+i8xU5+/0C7spAoa+DgIn1oM98JOlq7rTW0zr5/pC7fhcnzKiWi7PUma3PUao0MKMMW5Ylg==";

// What `fwknop --save-rc-stanza -n home -A tcp/22 -a 10.0.0.5 -D 192.0.2.1 --key-gen
// --use-hmac` writes (2.6.10).
std::string saved_by_fwknop() {
    return std::string(
               "[default]\n\n[home]\n"
               "ALLOW_IP                    10.0.0.5\n"
               "ACCESS                      tcp/22\n"
               "SPA_SERVER                  192.0.2.1\n"
               "KEY_BASE64                  ") +
           kKey + "\nHMAC_KEY_BASE64             " + kHmac + "\nUSE_HMAC                    Y\n";
}

// The message of the ConfigError parsing `text` throws ("" if none).
std::string refusal(const std::string &text, const std::string &name = "home") {
    try {
        parse_fwknoprc(text, "rc", name);
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "";
}

TEST(Fwknoprc, TheStanzaFwknopSavesGivesEverySetting) {
    auto s = parse_fwknoprc(saved_by_fwknop(), "rc", "home");
    EXPECT_EQ(s.server.value_or(""), "192.0.2.1");
    EXPECT_EQ(s.allow_ip.value_or(""), "10.0.0.5");
    EXPECT_FALSE(s.allow_source);
    ASSERT_TRUE(s.access.has_value());
    EXPECT_EQ(*s.access, std::vector<std::string>{"tcp/22"});
    EXPECT_FALSE(s.port.has_value());
    ASSERT_TRUE(s.secret.has_value());
    std::vector<uint8_t> key, hmac;
    ASSERT_TRUE(xk::spa::secret_from_base64(kKey, key));
    ASSERT_TRUE(xk::spa::secret_from_base64(kHmac, hmac));
    EXPECT_EQ(s.secret->fko.key, key);
    EXPECT_EQ(s.secret->fko.hmac_key, hmac);
    EXPECT_EQ(s.secret->fko.hmac, xk::spa::HmacType::sha256);
    EXPECT_EQ(s.secret->fko.mode, xk::spa::Mode::cbc);
    EXPECT_EQ(s.secret->label, "home");
}

TEST(Fwknoprc, TheNamedStanzaOverridesDefault) {
    auto s = parse_fwknoprc(
        "[default]\nSPA_SERVER_PORT 40001\nDIGEST_TYPE SHA512\n"
        "SPOOF_USER alice\n[home]\nSPA_SERVER_PORT 50000\nACCESS tcp/22, "
        "UDP/53\nFW_TIMEOUT 30\n",
        "rc", "home");
    EXPECT_EQ(s.port.value_or(0), 50000);
    EXPECT_EQ(s.digest.value_or(""), "sha512");
    EXPECT_EQ(s.user.value_or(""), "alice");
    EXPECT_EQ(s.client_timeout.value_or(0), 30u);
    EXPECT_EQ(*s.access, (std::vector<std::string>{"tcp/22", "udp/53"}));
    EXPECT_FALSE(s.secret.has_value()) << "no key lines: the command line must give the keys";
}

TEST(Fwknoprc, AllowIpSourceAsksForTheKnocksSource) {
    auto s = parse_fwknoprc("[h]\nALLOW_IP source\n", "rc", "h");
    EXPECT_TRUE(s.allow_source);
    EXPECT_FALSE(s.allow_ip.has_value());
    EXPECT_NE(refusal("[h]\nALLOW_IP resolve\n", "h").find("rc:2: ALLOW_IP resolve"),
              std::string::npos);
}

TEST(Fwknoprc, UseHmacNoDropsTheHmacKey) {
    auto s = parse_fwknoprc(saved_by_fwknop() + "[plainaes]\nKEY_BASE64 " + kKey +
                                "\nHMAC_KEY_BASE64 " + kHmac + "\nUSE_HMAC N\n",
                            "rc", "plainaes");
    ASSERT_TRUE(s.secret.has_value());
    EXPECT_TRUE(s.secret->fko.hmac_key.empty());
    EXPECT_EQ(s.secret->fko.hmac, xk::spa::HmacType::none);
    EXPECT_NE(refusal(std::string("[h]\nKEY_BASE64 ") + kKey + "\nUSE_HMAC Y\n", "h")
                  .find("USE_HMAC Y but no HMAC_KEY"),
              std::string::npos);
}

TEST(Fwknoprc, RefusesWhatItCannotHonourNamingTheKeyword) {
    EXPECT_EQ(refusal(saved_by_fwknop(), "work"), "rc: no stanza [work]");
    EXPECT_EQ(refusal("[home]\nSPA_SERVER a\nFROB 1\n"), "rc:3: unknown keyword FROB");
    EXPECT_EQ(refusal("[home]\nUSE_GPG Y\n"), "rc:2: USE_GPG Y is not supported");
    EXPECT_EQ(refusal("[home]\nUSE_GPG maybe\n"), "rc:2: USE_GPG must be Y or N");
    EXPECT_EQ(refusal("[home]\nNAT_ACCESS 192.168.1.2:22\n"), "rc:2: NAT_ACCESS is not supported");
    EXPECT_NE(refusal("[home]\nSPA_SERVER_PROTO tcp\n").find("rc:2: SPA_SERVER_PROTO tcp"),
              std::string::npos);
    EXPECT_NE(refusal("[home]\nSPA_SERVER_PORT 70000\n").find("rc:2: SPA_SERVER_PORT"),
              std::string::npos);
    EXPECT_EQ(refusal("[home]\nACCESS tcp/22\nACCESS tcp/23\n"),
              "rc:3: ACCESS is given twice in this stanza");
    EXPECT_EQ(refusal("SPA_SERVER a\n[home]\n"), "rc:1: SPA_SERVER is outside any [stanza]");
    // What changes nothing in the knock is accepted: fwknop writes some of it by default.
    EXPECT_EQ(refusal("[home]\nUSE_GPG N\nVERBOSE 1\nSPA_SERVER_PROTO udp\nRAND_PORT N\n"), "");
}

TEST(Fwknoprc, ErrorsNeverQuoteAKey) {
    std::string text = "[home]\nKEY_BASE64 not*base64*secret\n";
    std::string e = refusal(text);
    EXPECT_NE(e.find("KEY_BASE64"), std::string::npos) << e;
    EXPECT_EQ(e.find("not*base64*secret"), std::string::npos) << e;
}

}  // namespace
