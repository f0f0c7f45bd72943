#pragma once
// A fixed ring of T, allocated once: producers (workers) push without allocating or waiting
// on the consumer's I/O; the one consumer copies a batch out, sends it, and only then pops
// it, so what a failed send did not deliver stays queued in order.

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <vector>

namespace xk::cluster {

template <typename T>
class BoundedQueue {
  public:
    explicit BoundedQueue(size_t capacity) : items_(capacity) {}

    // False when full (nothing kept).
    bool push(const T &item) {
        std::lock_guard lock(mu_);
        if (count_ == items_.size()) return false;
        items_[(head_ + count_++) % items_.size()] = item;
        return true;
    }
    // Copies up to out.size() items from the front; returns how many.
    size_t peek(std::vector<T> &out, size_t most) const {
        std::lock_guard lock(mu_);
        const size_t n = std::min(most, count_);
        out.resize(n);
        for (size_t i = 0; i < n; ++i) out[i] = items_[(head_ + i) % items_.size()];
        return n;
    }
    void pop(size_t n) {
        std::lock_guard lock(mu_);
        n = std::min(n, count_);
        head_ = (head_ + n) % items_.size();
        count_ -= n;
    }
    size_t size() const {
        std::lock_guard lock(mu_);
        return count_;
    }

  private:
    mutable std::mutex mu_;
    std::vector<T> items_;
    size_t head_ = 0, count_ = 0;
};

}  // namespace xk::cluster
