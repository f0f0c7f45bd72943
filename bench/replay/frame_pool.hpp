// The frames xdpknock-replay sends, prepared before the clock starts: read from a pcap or
// synthesized (fko-shaped junk), MACs set for the lab link, sources optionally moved into
// lab ranges. Sending then only points at these bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xk::replay {

using Mac = std::array<uint8_t, 6>;

// "10.99.128.0/17" or "fd99:80::/48" (prefix <= 64: each source gets its own /64).
struct SourceNet {
    bool v6 = false;
    std::array<uint8_t, 16> addr{};
    unsigned prefix = 0;
};
SourceNet parse_source_net(const std::string &text);  // throws std::invalid_argument

struct RewriteOptions {
    Mac src_mac{}, dst_mac{};
    std::optional<SourceNet> net4, net6;  // move IPv4 / IPv6 sources into these
};

class FramePool {
  public:
    void load_pcap(const std::string &path);  // throws std::runtime_error
    // n UDP frames to dst:port from n distinct sources of `net`, payloads that pass the XDP
    // pre-filter's fko shape (150..300 base64 chars, first one of 8 9 + /) and fail HMAC.
    void add_fko_junk(size_t n, const SourceNet &net, const std::string &dst, uint16_t port,
                      uint64_t seed);
    // MACs always; sources when asked. Distinct original sources stay distinct (in order of
    // first appearance) until the range is exhausted; checksums are recomputed.
    void rewrite(const RewriteOptions &options);

    size_t size() const { return frames_.size(); }
    const std::vector<uint8_t> &operator[](size_t i) const { return frames_[i]; }

  private:
    std::vector<std::vector<uint8_t>> frames_;
};

}  // namespace xk::replay
