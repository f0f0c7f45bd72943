// fwknop -P http requests: the SPA out of the path, as fwknopd takes it, and nothing else.
#include "spa/http_knock.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using xk::spa::HttpKnock;
using xk::spa::parse_http_knock;

// What fwknop 2.6.10 sends (seen on the wire), around a path with both translated characters.
std::string request(const std::string &path, const std::string &more_headers = "",
                    const std::string &agent = "Fwknop/2.6.10") {
    return "GET /" + path + " HTTP/1.0\r\nUser-Agent: " + agent +
           "\r\nAccept: */*\r\nHost: 10.0.0.1\r\n" + more_headers + "Connection: close\r\n\r\n";
}

bool parse(const std::string &req, std::string &spa, HttpKnock &k) {
    std::vector<uint8_t> out(req.size());
    const bool ok =
        parse_http_knock({reinterpret_cast<const uint8_t *>(req.data()), req.size()}, out, k);
    spa.assign(out.begin(), out.begin() + static_cast<long>(k.spa_len));
    return ok;
}

TEST(HttpKnock, TheSpaIsThePathWithBase64sCharactersBack) {
    std::string spa;
    HttpKnock k;
    ASSERT_TRUE(parse(request("8bOdz2qM-UXX_VXr"), spa, k));
    EXPECT_EQ(spa, "8bOdz2qM+UXX/VXr");
    EXPECT_FALSE(k.forwarded);
}

// fwknopd's test: "GET /" and a User-Agent starting "Fwknop"; browsers' requests are the web
// server's (fwknopd 2.6.10 has no ALLOW_ANY_USER_AGENT).
TEST(HttpKnock, OnlyFwknopsRequestsAreKnocks) {
    std::string spa;
    HttpKnock k;
    EXPECT_FALSE(parse(request("abc", "", "Mozilla/5.0"), spa, k));
    EXPECT_FALSE(parse(request("abc", "", "fwknop/2.6.10"), spa, k));
    EXPECT_FALSE(parse("POST /abc HTTP/1.0\r\nUser-Agent: Fwknop/2.6.10\r\n\r\n", spa, k));
    EXPECT_FALSE(parse("get /abc HTTP/1.0\r\nUser-Agent: Fwknop/2.6.10\r\n\r\n", spa, k));
    EXPECT_FALSE(parse(request(""), spa, k));  // no path
    // The agent must be a header, not a line of the body.
    EXPECT_FALSE(
        parse("GET /abc HTTP/1.0\r\nHost: x\r\n\r\nUser-Agent: Fwknop/2.6.10\r\n", spa, k));
    // A request line the copy cut: the SPA may be cut too.
    EXPECT_FALSE(parse("GET /abcdef", spa, k));
}

TEST(HttpKnock, XForwardedForNamesOneAddress) {
    std::string spa;
    HttpKnock k;
    ASSERT_TRUE(parse(request("abc", "X-Forwarded-For: 1.2.3.4\r\n"), spa, k));
    ASSERT_TRUE(k.forwarded);
    const std::array<uint8_t, 16> v4{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
    EXPECT_EQ(k.forwarded_for, v4);
    ASSERT_TRUE(parse(request("abc", "x-forwarded-for:2001:db8::7 \r\n"), spa, k));
    ASSERT_TRUE(k.forwarded);
    EXPECT_EQ(k.forwarded_for[0], 0x20);
    EXPECT_EQ(k.forwarded_for[15], 7);
    // A list, a name or nothing: fwknopd takes none of them, and neither do we.
    for (const char *bad : {"1.2.3.4, 5.6.7.8", "client.example", "", "1.2.3.256"}) {
        ASSERT_TRUE(parse(request("abc", std::string("X-Forwarded-For: ") + bad + "\r\n"), spa, k));
        EXPECT_FALSE(k.forwarded) << bad;
    }
}

}  // namespace
