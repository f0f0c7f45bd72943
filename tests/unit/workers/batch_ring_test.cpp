// The SPSC batch ring between a socket's poller and an extra worker: FIFO, bounded at its
// capacity, every batch delivered exactly once under a producer/consumer race, and a
// consumer asleep on an empty ring woken by the empty batch the pool publishes at stop.
#include "workers/batch_ring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace xk::workers {
namespace {

using namespace std::chrono_literals;

// A batch of n frames whose UMEM addresses are first, first + 1, ...
void fill(FrameBatch &b, uint64_t first, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) b.frames[i] = {nullptr, 0, first + i};
    b.n = n;
}

TEST(BatchRing, EmptyRingHasNoFrontAndARoomySlot) {
    BatchRing<4> ring;
    EXPECT_EQ(ring.front(), nullptr);
    EXPECT_NE(ring.slot(), nullptr);
    EXPECT_EQ(ring.front(), nullptr) << "a slot is not published until publish()";
}

TEST(BatchRing, DeliversInOrderAcrossWrapAround) {
    BatchRing<4> ring;
    uint64_t sent = 0, got = 0;
    for (int round = 0; round < 10; ++round) {  // 10 x 3 batches: the indexes wrap 7 times
        for (int i = 0; i < 3; ++i) {
            FrameBatch *b = ring.slot();
            ASSERT_NE(b, nullptr);
            fill(*b, sent, 1);
            ring.publish();
            ++sent;
        }
        while (FrameBatch *b = ring.front()) {
            ASSERT_EQ(b->n, 1u);
            EXPECT_EQ(b->frames[0].addr, got);
            ring.pop();
            ++got;
        }
    }
    EXPECT_EQ(got, sent);
}

TEST(BatchRing, FullAtCapacityUntilThePopFreesASlot) {
    BatchRing<4> ring;
    for (uint64_t i = 0; i < 4; ++i) {
        FrameBatch *b = ring.slot();
        ASSERT_NE(b, nullptr) << "slot " << i;
        fill(*b, i, 1);
        ring.publish();
    }
    EXPECT_EQ(ring.slot(), nullptr) << "a fifth batch would overwrite the oldest";
    ASSERT_NE(ring.front(), nullptr);
    EXPECT_EQ(ring.front()->frames[0].addr, 0u);
    ring.pop();
    EXPECT_NE(ring.slot(), nullptr);
    EXPECT_EQ(ring.front()->frames[0].addr, 1u) << "the pop took the oldest, not another";
}

// Producer and consumer on their own threads, the consumer sleeping whenever it drains
// the ring: every frame arrives once, in order, with the batch's own frame count.
TEST(BatchRing, EveryFrameOnceUnderAProducerConsumerRace) {
    constexpr uint64_t kBatches = 200000;
    BatchRing<16> ring;
    std::vector<uint8_t> seen(kBatches * 3, 0);
    std::thread consumer([&] {
        uint64_t next = 0;
        for (uint64_t got = 0; got < kBatches;) {
            FrameBatch *b = ring.front();
            if (!b) {
                ring.wait_nonempty();
                continue;
            }
            for (uint32_t i = 0; i < b->n; ++i) {
                uint64_t addr = b->frames[i].addr;
                if (addr < seen.size()) ++seen[addr];
                EXPECT_EQ(addr, next++);
            }
            ring.pop();
            ++got;
        }
    });
    uint64_t addr = 0;
    for (uint64_t i = 0; i < kBatches; ++i) {
        FrameBatch *b;
        while (!(b = ring.slot())) std::this_thread::yield();
        const uint32_t n = uint32_t(i % 3) + 1;  // 1..3 frames: sizes differ batch to batch
        fill(*b, addr, n);
        addr += n;
        ring.publish();
    }
    consumer.join();
    for (uint64_t a = 0; a < addr; ++a) ASSERT_EQ(seen[a], 1) << "frame " << a;
}

// What WorkerPool::extra_loop does: sleep on an empty inbox while running. Detached and
// sharing its state, so a worker that never wakes fails the test instead of hanging it.
struct IdleWorker {
    BatchRing<4> inbox;
    std::atomic<bool> running{true};
    std::promise<void> ended;
};

std::future<void> startExtraLoop(const std::shared_ptr<IdleWorker> &w) {
    std::future<void> done = w->ended.get_future();
    std::thread([w] {
        while (w->running.load(std::memory_order_relaxed)) {
            if (!w->inbox.front()) {
                w->inbox.wait_nonempty();
                continue;
            }
            w->inbox.pop();
        }
        w->ended.set_value();
    }).detach();
    return done;
}

// The poller's last act at stop (WorkerPool::poll_loop): an empty batch in the inbox.
void publishStopWake(BatchRing<4> &inbox) {
    FrameBatch *b = inbox.slot();
    ASSERT_NE(b, nullptr) << "no slot for the stop wake";
    b->n = 0;
    inbox.publish();
}

// The shutdown wake: running = false alone cannot reach a worker asleep on an empty
// inbox; the empty batch the poller publishes at stop does.
TEST(BatchRing, AnEmptyBatchWakesAnIdleWorkerAtStop) {
    auto w = std::make_shared<IdleWorker>();
    auto done = startExtraLoop(w);
    std::this_thread::sleep_for(50ms);  // let it fall asleep in wait_nonempty()
    w->running = false;
    EXPECT_EQ(done.wait_for(200ms), std::future_status::timeout)
        << "woke without a publish: this test no longer shows the wake is needed";
    publishStopWake(w->inbox);
    EXPECT_EQ(done.wait_for(5s), std::future_status::ready) << "the stop wake did not wake it";
}

// A worker asleep again after draining a full ring (every slot used and popped) is
// still woken: the wake needs a free slot, and a drained ring always has one.
TEST(BatchRing, TheStopWakeFindsASlotAfterAFullRingWasDrained) {
    auto w = std::make_shared<IdleWorker>();
    for (int i = 0; i < 4; ++i) {
        fill(*w->inbox.slot(), uint64_t(i), 1);
        w->inbox.publish();
    }
    auto done = startExtraLoop(w);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(w->inbox.front(), nullptr) << "the worker drained the ring";
    w->running = false;
    publishStopWake(w->inbox);
    EXPECT_EQ(done.wait_for(5s), std::future_status::ready);
}

}  // namespace
}  // namespace xk::workers
