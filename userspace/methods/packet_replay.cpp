#include "methods/packet_replay.hpp"

namespace xk::methods {

using spa::Reject;

Reject PacketReplay::check(const spa::ReplayDigest *tag_key) {
    if (decided_ && verdict_ != Reject::ok) return verdict_;  // judged by a range before
    if (!tag_key || cache_->holds_wire_digests(now_)) {
        if (Reject r = check_wire(); r != Reject::ok) return r;
        key_ = wire_digest_;
    }
    if (tag_key) {
        if (Reject r = check_tag(*tag_key); r != Reject::ok) return r;
        key_ = tag_;
    }
    return Reject::ok;
}

Reject PacketReplay::check_wire() {
    if (wire_checked_) return Reject::ok;  // looked up for an earlier range: not there
    if (!digester_.digest(wire_, wire_digest_)) return Reject::crypto_error;
    wire_checked_ = true;
    return cache_->contains(wire_digest_, now_) ? refuse(Reject::replay) : Reject::ok;
}

Reject PacketReplay::check_tag(const spa::ReplayDigest &tag) {
    if (tag_checked_ && tag_ == tag) return Reject::ok;
    tag_ = tag;
    tag_checked_ = true;
    return cache_->contains(tag_, now_) ? refuse(Reject::replay) : Reject::ok;
}

Reject PacketReplay::record(std::span<const uint8_t> said, int64_t stamp) {
    if (decided_) return verdict_;  // a second range trying the same packet
    decided_ = true;
    if (!said.empty()) {
        spa::ReplayDigest d;
        if (!digester_.digest(said, d)) return verdict_ = Reject::crypto_error;
        if (Reject r = remember(d, stamp); r != Reject::ok) return verdict_ = r;
    }
    return verdict_ = remember(key_, stamp);
}

// Kept until the packet's own timestamp leaves the window, not only 2 × proof_time from now:
// a packet stamped ahead (too_new today) must still be a replay once its window opens.
Reject PacketReplay::remember(const spa::ReplayDigest &d, int64_t stamp) {
    switch (cache_->insert(d, now_, stamp)) {
        case policy::ReplayStore::Insert::added:
            return Reject::ok;
        case policy::ReplayStore::Insert::present:
            return Reject::replay;  // seen before, or another worker won
        case policy::ReplayStore::Insert::full:
            return Reject::replay_cache_full;
        case policy::ReplayStore::Insert::journal_error:
            return Reject::journal_error;  // fail closed: a restart would forget it
    }
    return Reject::journal_error;
}

}  // namespace xk::methods
