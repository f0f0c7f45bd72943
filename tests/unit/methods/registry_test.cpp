// The registry: the one place that knows which methods exist, by config name and by id.

#include <gtest/gtest.h>

#include <string>

#include "../policy/expect_config_error.hpp"
#include "methods/registry.hpp"
#include "policy/config.hpp"

using xk::methods::find_method;
using xk::methods::method_of;
using xk::policy::Method;

TEST(MethodRegistry, ConfigNamesFindTheirMethodAndBack) {
    for (const char *name : {"plain", "fko"}) {
        Method id{};
        ASSERT_TRUE(find_method(name, id)) << name;
        EXPECT_EQ(method_of(id).name(), name);
    }
    Method plain{}, fko{};
    ASSERT_TRUE(find_method("plain", plain));
    ASSERT_TRUE(find_method("fko", fko));
    EXPECT_NE(plain, fko);
}

TEST(MethodRegistry, UnknownNamesAreNotFound) {
    Method id{};
    EXPECT_FALSE(find_method("gpg", id));
    EXPECT_FALSE(find_method("", id));
    EXPECT_FALSE(find_method("FKO", id));  // the config's names are exact
}

TEST(MethodRegistry, ARangeIsJudgedByTheMethodItsConfigNames) {
    auto c = xk::policy::parse_config(R"({
      "interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}],
      "ranges": [
        {"name": "f", "method": "fko", "open": ["tcp/22"], "secrets": [{"label": "k", "key": "passphrase"}]},
        {"name": "p", "method": "plain", "open": ["tcp/22"], "secrets": [{"label": "s", "secret": "x"}]}
      ]})");
    EXPECT_EQ(method_of(c.ranges[0]).name(), "fko");
    EXPECT_EQ(method_of(c.ranges[1]).name(), "plain");
}

TEST(MethodRegistry, AnUnknownMethodIsRefusedNamingEveryKnownOne) {
    EXPECT_EQ(xk::methods::method_names(), "\"plain\", \"fko\" or \"sequence\"");
    try {
        xk::policy::parse_config(R"({
          "interfaces": [{"name": "eth0"}], "services": [{"name": "ssh", "port": "tcp/22"}],
          "ranges": [{"name": "r", "method": "gpg", "open": ["tcp/22"],
                      "secrets": [{"label": "s", "secret": "x"}]}]})");
        FAIL() << "accepted";
    } catch (const xk::policy::ConfigError &e) {
        EXPECT_STREQ(e.what(),
                     "ranges[0].method: must be \"plain\", \"fko\" or \"sequence\", not \"gpg\"");
    }
}
