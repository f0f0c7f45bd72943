// A per-second budget every worker draws on (a token bucket holding one second's worth):
// bounds work that costs milliseconds a time, such as a GPG decryption nothing vouched for.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace xk::policy {

class SharedBudget {
  public:
    using Clock = std::chrono::steady_clock;
    explicit SharedBudget(uint32_t per_second) : rate_(per_second), tokens_(per_second) {}

    // One unit of work, if the budget has it now. The lock is taken once per costly unit.
    bool take(Clock::time_point now = Clock::now()) {
        std::lock_guard lock(mutex_);
        if (last_ != Clock::time_point{}) {
            const double s = std::chrono::duration<double>(now - last_).count();
            tokens_ = std::min<double>(rate_, tokens_ + std::max(0.0, s) * rate_);
        }
        last_ = now;
        if (tokens_ < 1) return false;
        tokens_ -= 1;
        return true;
    }
    uint32_t per_second() const { return rate_; }

  private:
    std::mutex mutex_;
    const uint32_t rate_;
    double tokens_;
    Clock::time_point last_{};
};

}  // namespace xk::policy
