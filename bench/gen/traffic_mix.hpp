// The frames xdpknock-gen writes: valid fko and plain knocks, replays, junk to the knock
// port, SYN scans and background traffic, each kind built on demand from one seeded RNG so
// a seed always gives the same capture.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/packet_builder.hpp"

#include "policy/config.hpp"
#include "spa/fko_key_context.hpp"

namespace xk::gen {

enum class FrameKind { fko, plain, replay, junk, syn, background };

struct MixOptions {
    uint64_t seed = 1;
    double ipv6_share = 0.2;
    int64_t start_unix = 0;  // capture time of the first frame; fko timestamps follow it
    uint32_t gap_us = 10;    // capture time between frames
};

class TrafficMix {
  public:
    // `fko` (may be null) is the range and secret fko knocks are made for; `plain` (may be
    // null) the range whose first secret plain knocks carry. Throws std::runtime_error.
    TrafficMix(const policy::Config &config, const policy::Range *fko,
               const policy::Secret *fko_secret, const policy::Range *plain,
               const MixOptions &options);

    // The next frame of `kind` and its capture time. A replay needs an earlier fko knock:
    // false when there is none yet.
    bool next(FrameKind kind, std::vector<uint8_t> &frame, int64_t &sec, uint32_t &usec);

  private:
    struct Source {
        bool v6;
        std::array<uint8_t, 16> addr;  // v4 in the first 4 bytes
    };

    void advance_clock(int64_t &sec, uint32_t &usec);
    Source fresh_source();
    Source scanner_source();
    uint16_t ephemeral_port() { return static_cast<uint16_t>(32768 + rng_() % 28232); }
    uint16_t protected_port();
    uint16_t other_port();
    void ip_layer(test::PacketBuilder &b, const Source &src);
    std::vector<uint8_t> udp_frame(const Source &src, uint16_t dport,
                                   const std::vector<uint8_t> &payload);
    std::vector<uint8_t> tcp_frame(const Source &src, uint16_t dport, uint8_t flags,
                                   const std::vector<uint8_t> &payload);
    std::vector<uint8_t> fko_payload(const Source &src, int64_t unix_time);
    std::vector<uint8_t> junk_payload();

    const policy::Config &config_;
    const policy::Range *fko_;
    const policy::Range *plain_;
    std::unique_ptr<spa::FkoKeyContext> kc_;
    MixOptions options_;
    std::mt19937_64 rng_;
    uint64_t frames_ = 0;
    uint64_t sources_ = 0;
    std::vector<std::string> requested_;  // "tcp/22" etc. an fko knock may ask for

    struct Sent {
        uint16_t port;
        std::vector<uint8_t> payload;
    };
    std::vector<Sent> fko_sent_;  // what a replay copies
};

}  // namespace xk::gen
