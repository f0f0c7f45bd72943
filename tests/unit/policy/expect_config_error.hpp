#pragma once
// Config tests' one assertion: parsing must fail, naming the key path first.

#include <gtest/gtest.h>

#include <string>

#include "policy/config.hpp"

inline void expect_error(const std::string &text, const std::string &key) {
    try {
        xk::policy::parse_config(text);
        FAIL() << "accepted: " << text;
    } catch (const xk::policy::ConfigError &e) {
        EXPECT_EQ(std::string(e.what()).rfind(key, 0), 0u) << e.what();
    }
}
