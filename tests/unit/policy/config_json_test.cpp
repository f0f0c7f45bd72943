// JSON syntax errors in a config say line and column, never the text around them.
#include "policy/config_json.hpp"

#include <gtest/gtest.h>

#include <string>

using xk::policy::ConfigError;
using xk::policy::config_json::parse_json;
using xk::policy::config_json::text_position;

namespace {

std::string error_of(const std::string &text) {
    try {
        parse_json(text, "config");
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "accepted";
}

void expect_at(std::string_view text, size_t offset, size_t line, size_t column) {
    auto p = text_position(text, offset);
    EXPECT_EQ(p.line, line) << "offset " << offset;
    EXPECT_EQ(p.column, column) << "offset " << offset;
}

TEST(TextPosition, FirstLineCountsFromOne) {
    expect_at("{\"a\": 1}", 0, 1, 1);
    expect_at("{\"a\": 1}", 7, 1, 8);
}

TEST(TextPosition, LineBreaksStartANewLine) {
    const std::string t = "{\n  \"a\":\r\n 1,\r}";
    expect_at(t, 1, 1, 2);   // the '\n' itself ends line 1
    expect_at(t, 2, 2, 1);   // first byte after "\n"
    expect_at(t, 4, 2, 3);   // '"'
    expect_at(t, 8, 2, 7);   // the '\r' of "\r\n"
    expect_at(t, 9, 2, 7);   // its '\n': the pair is one break, not two
    expect_at(t, 10, 3, 1);  // after "\r\n"
    expect_at(t, 14, 4, 1);  // after a lone '\r'
}

TEST(TextPosition, TabsAndUtf8CountOneColumnEach) {
    expect_at("\t\t]", 2, 1, 3);
    expect_at("\"\xc3\xa9\xe2\x82\xac\"]", 7, 1, 5);  // "é€" then ']'
}

TEST(TextPosition, PastTheEndIsJustAfterTheLastCharacter) {
    expect_at("{\n", 2, 2, 1);
    expect_at("ab", 99, 1, 3);
}

TEST(ParseJson, SyntaxErrorSaysLineAndColumn) {
    EXPECT_EQ(error_of("{\n  \"a\": 1,\n      }"),
              "config: JSON syntax error at line 3, column 7: unexpected '}'; expected string "
              "literal");
    EXPECT_EQ(error_of("{\"a\": 1,}"),
              "config: JSON syntax error at line 1, column 9: unexpected '}'; expected string "
              "literal");
    EXPECT_EQ(error_of("{\r\n\t\"a\":\r\n\t]}")
                  .rfind("config: JSON syntax error at line 3, column 2: "
                         "unexpected ']'",
                         0),
              0u)
        << error_of("{\r\n\t\"a\":\r\n\t]}");
}

TEST(ParseJson, EndOfInputIsJustPastTheLastLine) {
    EXPECT_EQ(
        error_of("{\"a\": 1\n"),
        "config: JSON syntax error at line 2, column 1: unexpected end of input; expected '}'");
}

TEST(ParseJson, NeverQuotesTheTextItRead) {
    // Each of these makes nlohmann's message quote the input ("last read: ...").
    for (const std::string &t :
         {std::string(R"({"secret": "TopSecret)"
                      "\n"
                      R"("})"),
          std::string(R"({"secret": "TopSecret\q"})"), std::string(R"({"secret": TopSecret})"),
          std::string(R"({"secret": "TopSecret" "TopSecret"})")}) {
        const std::string e = error_of(t);
        EXPECT_EQ(e.rfind("config: JSON syntax error at line ", 0), 0u) << e;
        EXPECT_EQ(e.find("TopSecret"), std::string::npos) << e;
        EXPECT_EQ(e.find("last read"), std::string::npos) << e;
    }
}

TEST(ParseJson, NamesWhatItParsed) {
    EXPECT_EQ(error_of(""),
              "config: JSON syntax error at line 1, column 1: unexpected end of input; expected "
              "'[', '{', or a literal");
    EXPECT_EQ(error_of(R"({"a": 1e999})"), "config: JSON number out of range");
    EXPECT_EQ(parse_json(R"({"a": [1, 2]})", "config").at("a").size(), 2u);
}

}  // namespace
