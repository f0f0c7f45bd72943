// A per-second budget every worker draws on: at most `per_second` units of work in any one
// second of the knocks' clock (Unix seconds). It bounds work that costs milliseconds a time,
// such as a GPG decryption nothing vouched for. Counting per second, not by a bucket that
// refills as time moves on, keeps it independent of the order in which workers judge
// knocks of different seconds: a capture replayed by several workers is judged as it was live.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

namespace xk::policy {

class SharedBudget {
  public:
    explicit SharedBudget(uint32_t per_second) : rate_(per_second) {}

    // One unit of work in second `now`, if that second has one left. The lock is taken once
    // per costly unit.
    bool take(int64_t now) {
        std::lock_guard lock(mutex_);
        Second &s = seconds_[static_cast<uint64_t>(now) % seconds_.size()];
        if (s.at != now) s = {now, 0};
        if (s.used >= rate_) return false;
        ++s.used;
        return true;
    }
    uint32_t per_second() const { return rate_; }

  private:
    struct Second {
        int64_t at = -1;
        uint32_t used = 0;
    };
    std::mutex mutex_;
    const uint32_t rate_;
    std::array<Second, 8> seconds_{};  // workers a few seconds apart still count their own
};

}  // namespace xk::policy
