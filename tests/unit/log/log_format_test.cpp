#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "log/log.hpp"

using namespace xk::log;
using nlohmann::json;

namespace {

// 2024-05-01T12:34:56.789Z (the nanoseconds are truncated to milliseconds).
const timespec kNow{1714566896, 789999999};

TEST(LogFormat, TextLineHasTimeLevelAndMessage) {
    EXPECT_EQ(format_line(Level::warn, Format::text, false, kNow, "range full"),
              "2024-05-01T12:34:56.789Z warn range full\n");
}

TEST(LogFormat, JsonLineIsOneObject) {
    EXPECT_EQ(format_line(Level::info, Format::json, false, kNow, "authorized 192.0.2.7"),
              R"({"ts":"2024-05-01T12:34:56.789Z","level":"info","msg":"authorized 192.0.2.7"})"
              "\n");
}

TEST(LogFormat, JsonEscapesQuotesNewlinesAndControlCharacters) {
    const std::string msg = "say \"hi\" \\ path\nnext\r\tline \x01\x1f end";
    const std::string line = format_line(Level::error, Format::json, false, kNow, msg);
    ASSERT_EQ(line.back(), '\n');
    const std::string body = line.substr(0, line.size() - 1);
    EXPECT_EQ(body.find('\n'), std::string::npos) << "one object per line: " << line;
    for (char c : body) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
    EXPECT_NE(body.find(R"(say \"hi\" \\ path\nnext\r\tline \u0001\u001f end)"), std::string::npos)
        << body;
    const json j = json::parse(body);
    EXPECT_EQ(j.at("msg"), msg);
    EXPECT_EQ(j.at("level"), "error");
    EXPECT_EQ(j.at("ts"), "2024-05-01T12:34:56.789Z");
}

TEST(LogFormat, JsonReplacesBytesThatAreNotUtf8) {
    const std::string line =
        format_line(Level::info, Format::json, false, kNow, "user \xff\xfe ok \xc3\xa9");
    const json j = json::parse(line);  // would throw on invalid UTF-8
    EXPECT_EQ(j.at("msg"), "user \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
}

TEST(LogFormat, UnderJournaldTextDropsTheTimeAndPrefixesThePriority) {
    EXPECT_EQ(format_line(Level::debug, Format::text, true, kNow, "m"), "<7>debug m\n");
    EXPECT_EQ(format_line(Level::info, Format::text, true, kNow, "m"), "<6>info m\n");
    EXPECT_EQ(format_line(Level::warn, Format::text, true, kNow, "m"), "<4>warn m\n");
    EXPECT_EQ(format_line(Level::error, Format::text, true, kNow, "m"), "<3>error m\n");
    // journald reads line by line: a continuation line keeps the level.
    EXPECT_EQ(format_line(Level::warn, Format::text, true, kNow, "verifier:\n  R1 invalid"),
              "<4>warn verifier:\n<4>  R1 invalid\n");
}

TEST(LogFormat, UnderJournaldJsonKeepsItsTimeAndGetsThePriority) {
    EXPECT_EQ(format_line(Level::error, Format::json, true, kNow, "a\nb"),
              R"(<3>{"ts":"2024-05-01T12:34:56.789Z","level":"error","msg":"a\nb"})"
              "\n");
}

TEST(LogFormat, ParseFormatTakesTheFlagValues) {
    EXPECT_EQ(parse_format("text"), Format::text);
    EXPECT_EQ(parse_format("json"), Format::json);
    EXPECT_THROW(parse_format("JSON"), std::invalid_argument);
    EXPECT_THROW(parse_format(""), std::invalid_argument);
}

struct TempFile {
    char path[32] = "/tmp/xk-log-test-XXXXXX";
    int fd = mkstemp(path);
    ~TempFile() {
        close(fd);
        unlink(path);
    }
    std::string id() const {
        struct stat st {};
        fstat(fd, &st);
        return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }
};

TEST(JournalStream, MatchesOnlyTheFileItNames) {
    TempFile f, other;
    ASSERT_GE(f.fd, 0);
    ASSERT_GE(other.fd, 0);
    EXPECT_TRUE(journal_stream_matches(f.id().c_str(), f.fd));
    EXPECT_FALSE(journal_stream_matches(other.id().c_str(), f.fd));  // stderr redirected
    EXPECT_FALSE(journal_stream_matches(nullptr, f.fd));             // not under systemd
    EXPECT_FALSE(journal_stream_matches(f.id().c_str(), -1));
}

TEST(JournalStream, RefusesMalformedValues) {
    TempFile f;
    const std::string id = f.id();
    const std::string dev = id.substr(0, id.find(':')), ino = id.substr(id.find(':') + 1);
    for (const std::string &bad :
         {std::string(""), dev, dev + ":", ":" + ino, id + "x", " " + id, dev + ":-" + ino,
          dev + ":+" + ino, "99999999999999999999999:" + ino, dev + "," + ino}) {
        EXPECT_FALSE(journal_stream_matches(bad.c_str(), f.fd)) << "'" << bad << "'";
    }
}

TEST(LogWrite, JsonFormatWritesOneParsableLinePerCall) {
    TempFile f;
    ASSERT_GE(f.fd, 0);
    fflush(stderr);
    const int saved = dup(STDERR_FILENO);
    ASSERT_GE(saved, 0);
    ASSERT_EQ(dup2(f.fd, STDERR_FILENO), STDERR_FILENO);
    set_format(Format::json);
    XK_WARN("refused \"%s\"\n%d", "x", 7);
    XK_DEBUG("not at the default level");
    set_format(Format::text);
    XK_INFO("back to text");
    dup2(saved, STDERR_FILENO);
    close(saved);

    std::ifstream in(f.path);
    std::string first, second, third;
    ASSERT_TRUE(std::getline(in, first));
    ASSERT_TRUE(std::getline(in, second));
    EXPECT_FALSE(std::getline(in, third)) << third;
    const json j = json::parse(first);
    EXPECT_EQ(j.at("level"), "warn");
    EXPECT_EQ(j.at("msg"), "refused \"x\"\n7");
    EXPECT_NE(second.find(" info back to text"), std::string::npos) << second;
}

}  // namespace
