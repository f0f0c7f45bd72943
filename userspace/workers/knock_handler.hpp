#pragma once
// One step of the data path per frame: parse → knock → policy verdict → grant. The
// daemon's workers and the offline pcap replay share it, so both judge alike.

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include "policy/knock_policy.hpp"
#include "spa/reject.hpp"

namespace xk::workers {

// Where accepted knocks go: the BPF map (daemon) or stdout (dry run).
class GrantSink {
  public:
    virtual ~GrantSink() = default;
    // ok, or why the grant was refused after all (range_full, map_full): the knock then
    // counts as that reject, not as accepted.
    virtual spa::Reject grant(const policy::Knock &knock, const policy::Decision &decision) = 0;
    // Refusals are never answered; a dry run reports them, the daemon only counts them.
    virtual void refuse(const policy::Knock &, const policy::Decision &) {}
};

// Per-worker counters; relaxed atomics so status can read them from another thread.
struct alignas(64) HandlerStats {
    std::atomic<uint64_t> frames{0};
    std::atomic<uint64_t> not_knock{0};  // frames that did not parse as UDP to a knock port
    std::atomic<uint64_t> accepted{0};   // knocks that were granted
    std::array<std::atomic<uint64_t>, spa::kRejectCount> rejected{};
};

class KnockHandler {
  public:
    // raw_ip: frames start at the IP header (the gate's link has no L2 header).
    KnockHandler(policy::KnockPolicy &policy, GrantSink &sink, HandlerStats &stats,
                 bool raw_ip = false)
        : policy_(policy), sink_(sink), stats_(stats), raw_ip_(raw_ip) {}

    // Judges the frame as of now_unix (wall clock; a capture's time in replays).
    // Returns the verdict's reason: ok when a grant was made, range_full / map_full when
    // the policy accepted it but the grant was refused.
    spa::Reject handle_frame(const uint8_t *data, uint32_t len, int64_t now_unix);
    // Where a TCP segment to an http knock port came from and went to.
    struct HttpSegment {
        policy::Address source, destination;
        uint16_t port = 0;
    };
    // Its payload (fwknop -P http: the gate's copy, or a capture's frame), judged likewise.
    spa::Reject handle_http(const HttpSegment &seg, std::span<const uint8_t> request,
                            int64_t now_unix);

  private:
    spa::Reject http_knock(const HttpSegment &seg, std::span<const uint8_t> request,
                           int64_t now_unix);
    spa::Reject judge(const policy::Knock &knock);

    std::array<uint8_t, 2048> http_spa_{};  // an http knock's SPA, made base64 again
    policy::KnockPolicy &policy_;
    GrantSink &sink_;
    HandlerStats &stats_;
    bool raw_ip_;
};

}  // namespace xk::workers
