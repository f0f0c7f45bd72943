// `xdpknockd --pcap --dry-run --workers N`: the same lines and counters as one worker, one
// replay decision per packet (a resend is refused as a replay, the first sending accepted,
// whichever worker meets either), and the same capture replayed twice refuses every knock
// it accepted the first time.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/packet_builder.hpp"
#include "daemon/pcap_replay.hpp"
#include "spa/fko_encode.hpp"
#include "spa/fko_key_context.hpp"

using namespace xk;

namespace {

constexpr int64_t kT0 = 1790000000;

// One fko range with HMAC, one without (legacy), one plain; all on 62201.
policy::Config config() {
    return policy::parse_config(R"({"interfaces": [{"name": "eth0"}],
      "services": [{"name": "ssh", "port": "tcp/22"}, {"name": "s1", "port": "tcp/1"},
                   {"name": "s2", "port": "tcp/2"}, {"name": "s3", "port": "tcp/3"},
                   {"name": "s4", "port": "tcp/4"}, {"name": "s5", "port": "tcp/5"},
                   {"name": "s6", "port": "tcp/6"}, {"name": "s7", "port": "tcp/7"}],
      "ranges": [
        {"name": "hmac", "method": "fko", "sources": ["10.1.0.0/16", "10.3.0.0/16"],
         "open": ["tcp/22", "tcp/1", "tcp/2", "tcp/3", "tcp/4", "tcp/5", "tcp/6", "tcp/7"],
         "secrets": [{"label": "h", "key": "hmac range key", "hmac_key": "hmac range mac"}]},
        {"name": "legacy", "method": "fko", "sources": ["10.2.0.0/16"], "open": ["tcp/22"],
         "secrets": [{"label": "l", "key": "legacy range key", "mode": "cbc"}]},
        {"name": "plain", "method": "plain", "sources": ["10.9.0.0/16"], "open": ["tcp/22"],
         "secrets": [{"label": "p", "secret": "open sesame"}]}]})");
}

std::string knock(const policy::Config &c, size_t range, int64_t ts,
                  const std::string &message = "0.0.0.0,tcp/22") {
    std::string error;
    auto ctx = spa::FkoKeyContext::create(c.ranges[range].secrets[0].fko, error);
    EXPECT_TRUE(ctx) << error;
    spa::FkoRequest req;
    req.timestamp = ts;
    req.message = message;
    std::string out(spa::kMaxEncoded, '\0');
    size_t n = 0;
    EXPECT_EQ(spa::fko_encode(*ctx, req, out, n), spa::Reject::ok);
    out.resize(n);
    return out;
}

struct Capture {
    std::vector<std::pair<std::string, test::Bytes>> frames;  // (what it is, the frame)
    void add(const char *what, const std::string &src, const std::string &payload,
             uint16_t port = 62201) {
        frames.emplace_back(what, test::PacketBuilder()
                                      .eth()
                                      .ipv4(src, "192.0.2.1")
                                      .udp(40000, port)
                                      .payload(payload)
                                      .build());
    }
    std::string write(const std::string &path, int repeat = 1) const {
        pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
        pcap_dumper_t *d = pcap_dump_open(dead, path.c_str());
        EXPECT_TRUE(d);
        for (int r = 0; r < repeat; ++r) {
            for (size_t i = 0; i < frames.size(); ++i) {
                pcap_pkthdr h{};
                h.ts.tv_sec = kT0 + static_cast<long>(i / 500) + r;
                h.caplen = h.len = static_cast<uint32_t>(frames[i].second.size());
                pcap_dump(reinterpret_cast<u_char *>(d), &h, frames[i].second.data());
            }
        }
        pcap_dump_close(d);
        pcap_close(dead);
        return path;
    }
};

// ~5,000 frames over three chunks: fresh knocks, resends right behind them and far behind
// (some from other sources), HMAC failures, a no-HMAC range, plain knocks, non-knock frames.
Capture mixed(const policy::Config &c) {
    Capture cap;
    std::mt19937 rng(7);
    std::vector<std::pair<std::string, std::string>> sent;  // (knock, a source its range takes)
    for (int i = 0; i < 2000; ++i) {
        const std::string host = std::to_string(i / 250) + "." + std::to_string(i % 250);
        const bool legacy = i % 3 == 0;  // the range without HMAC takes 10.2/16
        std::string k = knock(c, legacy ? 1 : 0, kT0);
        std::string from = (legacy ? "10.2." : "10.1.") + host;
        cap.add("fresh", from, k);
        if (i % 4 == 0) cap.add("resend", from, k);
        if (i % 7 == 0) cap.add("resend", (legacy ? "10.2.200." : "10.3.0.") + host.substr(2), k);
        if (i % 5 == 0 && !legacy) {
            std::string bad = k;
            bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
            cap.add("junk", from, bad);
        }
        if (i % 11 == 0) cap.add("plain", "10.9." + host, "open sesame");
        if (i % 13 == 0) cap.add("not a knock", from, k, 53);
        sent.emplace_back(k, from);
        if (i % 9 == 0) {
            const auto &[old, old_from] = sent[rng() % sent.size()];
            cap.add("resend", old_from, old);
        }
    }
    return cap;
}

std::string run(const policy::Config &c, const std::string &pcap, unsigned workers) {
    char *text = nullptr;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    EXPECT_EQ(daemon::replay_pcap(c, {pcap, false, workers, out}), 0);
    fclose(out);
    std::string s(text, len);
    free(text);
    return s;
}

// The summary's timing is all that may differ: cut from its first timing key on.
std::string untimed(const std::string &s) {
    return s.substr(0, s.rfind("\"knocks_per_second\""));
}

std::vector<std::string> lines(const std::string &s) {
    std::vector<std::string> v;
    for (size_t at = 0, nl; (nl = s.find('\n', at)) != std::string::npos; at = nl + 1)
        v.push_back(s.substr(at, nl - at));
    if (!s.empty() && s.back() != '\n') v.push_back(s.substr(s.rfind('\n') + 1));
    return v;
}

class PcapReplay : public ::testing::Test {
  protected:
    void SetUp() override {
        char dir[] = "/tmp/xk-pcap-replay-XXXXXX";
        ASSERT_TRUE(mkdtemp(dir));
        dir_ = dir;
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
    std::string dir_;
    policy::Config c = config();
};

}  // namespace

TEST_F(PcapReplay, NWorkersPrintWhatOnePrints) {
    Capture cap = mixed(c);
    std::string pcap = cap.write(dir_ + "/mixed.pcap");
    const std::vector<std::string> one = lines(untimed(run(c, pcap, 1)));
    ASSERT_GT(one.size(), 3000u);
    for (unsigned w : {2u, 3u, 8u}) {
        for (int round = 0; round < 3; ++round) {
            const std::vector<std::string> got = lines(untimed(run(c, pcap, w)));
            ASSERT_EQ(got.size(), one.size()) << w << " workers, round " << round;
            for (size_t i = 0; i < one.size(); ++i)
                ASSERT_EQ(got[i], one[i]) << w << " workers, round " << round << ", line " << i;
        }
    }
}

TEST_F(PcapReplay, TheFirstSendingIsAcceptedAndEveryResendIsAReplay) {
    Capture cap = mixed(c);
    std::string pcap = cap.write(dir_ + "/mixed.pcap");
    for (unsigned w : {1u, 2u}) {
        std::vector<std::string> got = lines(run(c, pcap, w));
        size_t k = 0, fresh = 0, resend = 0;
        for (const auto &[what, frame] : cap.frames) {
            if (std::string(what) == "not a knock") continue;
            ASSERT_LT(k, got.size());
            const std::string &line = got[k++];
            if (std::string(what) == "fresh") {
                EXPECT_NE(line.find("\"accepted\":true"), std::string::npos) << line;
                ++fresh;
            } else if (std::string(what) == "resend") {
                EXPECT_NE(line.find("\"reason\":\"replay\""), std::string::npos) << line;
                ++resend;
            } else if (std::string(what) == "junk") {
                EXPECT_NE(line.find("\"reason\":\"hmac_mismatch\""), std::string::npos) << line;
            }
        }
        EXPECT_EQ(fresh, 2000u);
        EXPECT_GT(resend, 700u);
        EXPECT_NE(got.back().find("\"replay\":" + std::to_string(resend)), std::string::npos)
            << got.back();
    }
}

TEST_F(PcapReplay, TheSameCaptureTwiceRefusesEveryKnockTheFirstPassAccepted) {
    Capture cap;
    for (int i = 0; i < 300; ++i)
        cap.add("fresh", "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250),
                knock(c, 0, kT0));
    std::string twice = cap.write(dir_ + "/twice.pcap", 2);
    for (unsigned w : {1u, 2u}) {
        std::vector<std::string> got = lines(run(c, twice, w));
        ASSERT_EQ(got.size(), 601u);
        for (size_t i = 0; i < 600; ++i) {
            const char *want = i < 300 ? "\"reason\":\"ok\"" : "\"reason\":\"replay\"";
            EXPECT_NE(got[i].find(want), std::string::npos) << i << ": " << got[i];
        }
        EXPECT_NE(got.back().find("\"accepted\":300,"), std::string::npos) << got.back();
    }
}

TEST_F(PcapReplay, EveryPortOfAGrantReachesTheStoreInOrder) {
    Capture cap;
    for (int i = 0; i < 10; ++i)  // 8 ports: more than an outcome keeps inline
        cap.add("fresh", "10.1.0." + std::to_string(i),
                knock(c, 0, kT0, "0.0.0.0,tcp/22,tcp/1,tcp/2,tcp/3,tcp/4,tcp/5,tcp/6,tcp/7"));
    for (int i = 0; i < 5; ++i) cap.add("fresh", "10.1.1." + std::to_string(i), knock(c, 0, kT0));
    std::string pcap = cap.write(dir_ + "/ports.pcap");
    for (unsigned w : {1u, 2u}) {
        std::vector<std::string> got = lines(run(c, pcap, w));
        ASSERT_EQ(got.size(), 16u);
        EXPECT_NE(got.back().find("\"authorized_at_end\":85,"), std::string::npos) << got.back();
    }
}
