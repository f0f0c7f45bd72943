#pragma once
// A single-producer single-consumer ring of frame batches: how a socket's poller hands
// work to an extra worker, and how that worker hands the spent frames back (only the
// poller may refill the fill ring). Fixed size, lock-free; waiting is C++20 atomic wait.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "xsk/xsk_socket.hpp"

namespace xk::workers {

constexpr size_t kBatch = 64;

struct FrameBatch {
    std::array<xsk::Frame, kBatch> frames;
    uint32_t n = 0;
};

template <size_t Capacity>
class BatchRing {
    static_assert((Capacity & (Capacity - 1)) == 0, "power of two");

  public:
    // Producer: the slot to fill, or nullptr when full; then publish().
    FrameBatch *slot() {
        uint32_t h = head_.load(std::memory_order_relaxed);
        if (h - tail_.load(std::memory_order_acquire) == Capacity) return nullptr;
        return &slots_[h % Capacity];
    }
    void publish() {
        head_.fetch_add(1, std::memory_order_release);
        head_.notify_one();  // no syscall unless the consumer is asleep in wait()
    }
    // Consumer: the oldest batch or nullptr; then pop() once done with it.
    FrameBatch *front() {
        uint32_t t = tail_.load(std::memory_order_relaxed);
        if (t == head_.load(std::memory_order_acquire)) return nullptr;
        return &slots_[t % Capacity];
    }
    void pop() { tail_.fetch_add(1, std::memory_order_release); }
    // Consumer: sleeps until something is published (or wake() is called).
    void wait_nonempty() {
        uint32_t h = head_.load(std::memory_order_acquire);
        if (h != tail_.load(std::memory_order_relaxed)) return;
        head_.wait(h, std::memory_order_acquire);
    }

  private:
    alignas(64) std::atomic<uint32_t> head_{0};
    alignas(64) std::atomic<uint32_t> tail_{0};
    std::array<FrameBatch, Capacity> slots_;
};

}  // namespace xk::workers
