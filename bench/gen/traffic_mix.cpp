#include "gen/traffic_mix.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/packet_builder.hpp"
#include "spa/fko_encode.hpp"

namespace xk::gen {
namespace {

using test::Ipv4Addr;
using test::Ipv6Addr;
using test::PacketBuilder;

constexpr Ipv4Addr kGatewayV4 = {192, 0, 2, 1};
constexpr Ipv6Addr kGatewayV6 = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr char kB64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr unsigned kScanners = 16;

// Knocks come from "many distinct" sources: an odd multiplier is a bijection modulo 2^k, so
// the n-th source never repeats until 2^24 (IPv4, 10.0.0.0/8) or 2^64 (IPv6) of them.
uint32_t spread24(uint64_t n, uint64_t seed) {
    return static_cast<uint32_t>((n * 0x9E3779B1u + seed * 0x51ED27u) & 0xFFFFFF);
}

}  // namespace

TrafficMix::TrafficMix(const policy::Config &config, const policy::Range *fko,
                       const policy::Secret *fko_secret, const policy::Range *plain,
                       const MixOptions &options)
    : config_(config), fko_(fko), plain_(plain), options_(options), rng_(options.seed) {
    if (fko) {
        std::string error;
        kc_ = spa::FkoKeyContext::create(fko_secret->fko, error);
        if (!kc_) throw std::runtime_error("range " + fko->name + ": " + error);
        // A knock asks for one port its range may open; "*" means any protected service.
        for (const auto &p : fko->open) {
            if (p.proto == 0) {
                for (const auto &s : config.services)
                    requested_.push_back(policy::format_port(s.port));
            } else {
                requested_.push_back(policy::format_port(p));
            }
        }
        if (requested_.empty()) throw std::runtime_error("range " + fko->name + " opens nothing");
    }
}

void TrafficMix::advance_clock(int64_t &sec, uint32_t &usec) {
    uint64_t us = frames_++ * options_.gap_us;
    sec = options_.start_unix + static_cast<int64_t>(us / 1000000);
    usec = static_cast<uint32_t>(us % 1000000);
}

TrafficMix::Source TrafficMix::fresh_source() {
    Source s{};
    uint64_t n = sources_++;
    s.v6 = static_cast<double>(rng_() % 1000000) < options_.ipv6_share * 1000000;
    if (s.v6) {
        // 2001:db8:1::/64 with the interface identifier spread over 64 bits.
        const uint8_t head[8] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0};
        std::memcpy(s.addr.data(), head, 8);
        uint64_t iid = n * 0x9E3779B97F4A7C15ull + options_.seed;
        for (int i = 0; i < 8; ++i) s.addr[8 + i] = static_cast<uint8_t>(iid >> (56 - 8 * i));
    } else {
        uint32_t v = spread24(n, options_.seed);
        s.addr = {10, uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    }
    return s;
}

TrafficMix::Source TrafficMix::scanner_source() {
    // A handful of scanners sweep ports, as on an exposed router.
    Source s{};
    unsigned k = static_cast<unsigned>(rng_() % kScanners);
    s.v6 = static_cast<double>(k) < options_.ipv6_share * kScanners;
    if (s.v6) {
        const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x66, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        std::memcpy(s.addr.data(), addr, 16);
        s.addr[15] = static_cast<uint8_t>(k + 1);
    } else {
        s.addr = {203, 0, 113, static_cast<uint8_t>(k + 1)};
    }
    return s;
}

uint16_t TrafficMix::protected_port() {
    if (config_.services.empty()) return 22;
    return config_.services[rng_() % config_.services.size()].port.port;
}

uint16_t TrafficMix::other_port() {
    // Anything but a knock port, so background never counts as a knock.
    for (;;) {
        auto port = static_cast<uint16_t>(1 + rng_() % 65535);
        bool knock = std::any_of(config_.ranges.begin(), config_.ranges.end(),
                                 [&](const policy::Range &r) { return r.port == port; });
        if (!knock) return port;
    }
}

// Ethernet + IPv4/IPv6 from src to the gateway; the caller adds the transport.
void TrafficMix::ip_layer(PacketBuilder &b, const Source &src) {
    b.eth();
    if (src.v6) {
        Ipv6Addr a;
        std::copy_n(src.addr.begin(), 16, a.begin());
        b.ipv6(a, kGatewayV6);
    } else {
        test::Ipv4Options opts;
        opts.id = static_cast<uint16_t>(rng_());
        b.ipv4(Ipv4Addr{src.addr[0], src.addr[1], src.addr[2], src.addr[3]}, kGatewayV4, opts);
    }
}

std::vector<uint8_t> TrafficMix::udp_frame(const Source &src, uint16_t dport,
                                           const std::vector<uint8_t> &payload) {
    PacketBuilder b;
    ip_layer(b, src);
    return b.udp(ephemeral_port(), dport).payload(payload).build();
}

std::vector<uint8_t> TrafficMix::tcp_frame(const Source &src, uint16_t dport, uint8_t flags,
                                           const std::vector<uint8_t> &payload) {
    PacketBuilder b;
    ip_layer(b, src);
    test::TcpOptions opts;
    opts.seq = static_cast<uint32_t>(rng_());
    if (flags & test::kTcpAck) opts.ack = static_cast<uint32_t>(rng_());
    return b.tcp(ephemeral_port(), dport, flags, opts).payload(payload).build();
}

std::vector<uint8_t> TrafficMix::fko_payload(const Source &src, int64_t unix_time) {
    // fko access messages carry an IPv4 address; a v6 sender asks for "the packet's source".
    char allow[32] = "0.0.0.0";
    if (!src.v6)
        snprintf(allow, sizeof allow, "%u.%u.%u.%u", src.addr[0], src.addr[1], src.addr[2],
                 src.addr[3]);
    std::string message = std::string(allow) + "," + requested_[rng_() % requested_.size()];

    std::array<char, spa::kRandLen> rand;
    for (auto &c : rand) c = static_cast<char>('0' + rng_() % 10);
    std::array<uint8_t, spa::kSaltLen> salt;
    for (auto &b : salt) b = static_cast<uint8_t>(rng_());

    spa::FkoRequest req;
    req.user = "xkgen";
    req.timestamp = unix_time;
    req.message = message;
    req.rand = &rand;
    req.salt = &salt;
    std::vector<char> out(spa::kMaxEncoded);
    size_t len = 0;
    spa::Reject r = spa::fko_encode(*kc_, req, out, len);
    if (r != spa::Reject::ok) {
        throw std::runtime_error(std::string("fko_encode: ") + spa::reject_name(r));
    }
    return {out.begin(), out.begin() + static_cast<ptrdiff_t>(len)};
}

std::vector<uint8_t> TrafficMix::junk_payload() {
    std::vector<uint8_t> p;
    auto b64 = [&](size_t n) {
        for (size_t i = 0; i < n; ++i) p.push_back(static_cast<uint8_t>(kB64Alphabet[rng_() % 64]));
    };
    switch (rng_() % 8) {
        case 0:  // empty
            break;
        case 1:  // larger than any fko payload; still base64-looking, to reach the decoder
            b64(1501 + rng_() % 500);
            break;
        case 2:
        case 3:  // random bytes, any length up to an MTU
            p.resize(1 + rng_() % 1400);
            for (auto &c : p) c = static_cast<uint8_t>(rng_());
            break;
        default:  // the common case: looks like fko, fails the HMAC
            b64(150 + rng_() % 151);
            break;
    }
    return p;
}

bool TrafficMix::next(FrameKind kind, std::vector<uint8_t> &frame, int64_t &sec, uint32_t &usec) {
    switch (kind) {
        case FrameKind::fko: {
            if (!fko_) throw std::runtime_error("fko knocks need an fko range");
            advance_clock(sec, usec);
            Source src = fresh_source();
            auto payload = fko_payload(src, sec);
            frame = udp_frame(src, fko_->port, payload);
            fko_sent_.push_back({fko_->port, std::move(payload)});
            return true;
        }
        case FrameKind::plain: {
            if (!plain_) throw std::runtime_error("plain knocks need a plain range");
            advance_clock(sec, usec);
            frame = udp_frame(fresh_source(), plain_->port, plain_->secrets.front().plain);
            return true;
        }
        case FrameKind::replay: {
            if (fko_sent_.empty()) return false;
            advance_clock(sec, usec);
            // Byte-identical payload from a different address: a captured knock resent.
            const Sent &s = fko_sent_[rng_() % fko_sent_.size()];
            frame = udp_frame(fresh_source(), s.port, s.payload);
            return true;
        }
        case FrameKind::junk: {
            advance_clock(sec, usec);
            uint16_t port = fko_ ? fko_->port : plain_ ? plain_->port : config_.ranges[0].port;
            frame = udp_frame(fresh_source(), port, junk_payload());
            return true;
        }
        case FrameKind::syn: {
            advance_clock(sec, usec);
            uint16_t port = rng_() % 2 ? protected_port() : other_port();
            frame = tcp_frame(scanner_source(), port, test::kTcpSyn, {});
            return true;
        }
        case FrameKind::background: {
            advance_clock(sec, usec);
            std::vector<uint8_t> payload(rng_() % 200);
            for (auto &c : payload) c = static_cast<uint8_t>(rng_());
            Source src = fresh_source();
            frame = rng_() % 2
                        ? tcp_frame(src, other_port(), test::kTcpAck | test::kTcpPsh, payload)
                        : udp_frame(src, other_port(), payload);
            return true;
        }
    }
    return false;
}

}  // namespace xk::gen
