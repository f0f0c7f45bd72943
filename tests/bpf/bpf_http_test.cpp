// SPA over HTTP through BPF_PROG_TEST_RUN: every segment to an http knock port passes (it is
// a web server's); one that starts a GET whose path has a knock's shape is also copied into
// http_events, on its source's knock bucket, whole up to XK_HTTP_COPY_MAX bytes. A SYN there,
// and a browser's requests, are the web server's alone.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <string>

#include "gate_expect.hpp"
#include "gate_frames.hpp"
#include "loaded_gate.hpp"
#include "require_root.hpp"

namespace xk::test {
namespace {

LoadedGate &gate() {
    return catalogGate();
}

// A path of fwknop's shape: 8, 9, '-' or '_' first, XK_FKO_MIN_LEN bytes at least.
std::string request(const std::string &first = "8") {
    return "GET /" + first +
           "bOdz2qM59UXXVXrqhCZI1FrSMQHEUGlPPXEM_GypcnWLgl17cvzkR9INHzSOCBZnWYuh" +
           std::string(90, 'A') + " HTTP/1.0\r\nUser-Agent: Fwknop/2.6.10\r\nAccept: */*\r\n" +
           "Host: 198.51.100.1\r\nConnection: close\r\n\r\n";
}
const std::string kRequest = request();

class BpfHttp : public ::testing::Test {
  protected:
    void SetUp() override {
        XK_REQUIRE_ROOT();
        gate().drainHttpEvents();
        for (auto src : {kV4Stranger, kV6Stranger}) gate().setKnockBucket(gateAddr(src), 0);
    }
    static Bytes segment(std::string_view src, std::string_view payload,
                         uint8_t flags = kTcpPsh | kTcpAck) {
        PacketBuilder b;
        b.eth();
        if (src.find(':') == std::string_view::npos)
            b.ipv4(src, kV4Gateway);
        else
            b.ipv6(src, kV6Gateway);
        return b.tcp(40000, kHttpKnockPort, flags).payload(payload).build();
    }
    static void expect(const Bytes &frame, uint32_t action, uint32_t counter) {
        expectVerdictOn(gate(), frame, action, counter);
    }
};

TEST_F(BpfHttp, AGetIsCopiedAndPassed) {
    expect(segment(kV4Stranger, kRequest), XDP_PASS, XK_CNT_HTTP_COPY);
    const auto events = gate().drainHttpEvents();
    ASSERT_EQ(events.size(), 1u);
    const xk_http_event &e = events[0];
    EXPECT_EQ(std::memcmp(e.saddr, gateAddr(kV4Stranger).data(), 16), 0);
    EXPECT_EQ(e.dport, kHttpKnockPort);
    ASSERT_EQ(e.len, kRequest.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(e.data), e.len), kRequest);
    EXPECT_GT(e.time_ns, 0u);

    expect(segment(kV6Stranger, kRequest), XDP_PASS, XK_CNT_HTTP_COPY);
    const auto v6 = gate().drainHttpEvents();
    ASSERT_EQ(v6.size(), 1u);
    EXPECT_EQ(std::memcmp(v6[0].saddr, gateAddr(kV6Stranger).data(), 16), 0);
}

// The web server's own traffic: the handshake, other methods, a body, an empty ACK.
TEST_F(BpfHttp, EverythingElseJustPasses) {
    expect(segment(kV4Stranger, "", kTcpSyn), XDP_PASS, XK_CNT_TCP_PASS);
    expect(segment(kV4Stranger, kRequest, kTcpSyn), XDP_PASS, XK_CNT_TCP_PASS);
    expect(segment(kV4Stranger, "", kTcpAck), XDP_PASS, XK_CNT_TCP_PASS);
    expect(segment(kV4Stranger, "POST /x HTTP/1.0\r\n\r\n"), XDP_PASS, XK_CNT_TCP_PASS);
    expect(segment(kV4Stranger, "GET "), XDP_PASS, XK_CNT_TCP_PASS);
    expect(segment(kV4Stranger, "get /x HTTP/1.0\r\n\r\n"), XDP_PASS, XK_CNT_TCP_PASS);
    // A browser's GETs: a short path, or one no knock starts with.
    expect(segment(kV4Stranger, "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\n\r\n"),
           XDP_PASS, XK_CNT_TCP_PASS);
    expect(segment(kV4Stranger, request("a")), XDP_PASS, XK_CNT_TCP_PASS);
    expect(segment(kV4Stranger, kRequest.substr(0, 5 + XK_FKO_MIN_LEN - 1)), XDP_PASS,
           XK_CNT_TCP_PASS);
    EXPECT_TRUE(gate().drainHttpEvents().empty());
    for (const char *first : {"9", "-", "_"})
        expect(segment(kV4Stranger, request(first)), XDP_PASS, XK_CNT_HTTP_COPY);
    EXPECT_EQ(gate().drainHttpEvents().size(), 3u);
}

// kRatePort's bucket (10/s, burst 3): past it a request still reaches the web server.
TEST_F(BpfHttp, OverItsSourcesBucketARequestPassesUncopied) {
    for (uint32_t i = 0; i < kRateBurst; ++i)
        expect(segment(kV4Stranger, kRequest), XDP_PASS, XK_CNT_HTTP_COPY);
    expect(segment(kV4Stranger, kRequest), XDP_PASS, XK_CNT_HTTP_RATE_SKIP);
    EXPECT_EQ(gate().drainHttpEvents().size(), kRateBurst);
}

TEST_F(BpfHttp, ALongRequestIsCopiedUpToTheRecordsSize) {
    const std::string big = kRequest + std::string(2000, 'x');
    expect(segment(kV4Stranger, big), XDP_PASS, XK_CNT_HTTP_COPY);
    const auto events = gate().drainHttpEvents();
    ASSERT_EQ(events.size(), 1u);
    ASSERT_EQ(events[0].len, XK_HTTP_COPY_MAX);
    EXPECT_EQ(std::memcmp(events[0].data, big.data(), XK_HTTP_COPY_MAX), 0);
}

}  // namespace
}  // namespace xk::test
