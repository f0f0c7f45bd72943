#include "daemon/ring_poller.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "log/log.hpp"

namespace xk::daemon {

RingPoller::~RingPoller() {
    stop();
    if (rb_) ring_buffer__free(rb_);
}

void RingPoller::add(int fd, Handler handler, std::string what) {
    if (fd < 0) return;  // a gate without that ring (nftables): nothing will come
    rings_.push_back(std::make_unique<Ring>(Ring{this, std::move(handler), std::move(what)}));
    Ring *ring = rings_.back().get();
    int err = rb_ ? ring_buffer__add(rb_, fd, on_record, ring)
                  : ((rb_ = ring_buffer__new(fd, on_record, ring, nullptr)) ? 0 : -errno);
    if (err) throw std::runtime_error(ring->what + " ring buffer: " + std::strerror(-err));
}

void RingPoller::start() {
    if (!rb_ || thread_.joinable()) return;
    thread_ = std::thread([this] {
        while (!stop_) {
            int n = ring_buffer__poll(rb_, 200);  // the timeout bounds how long stop waits
            if (n < 0 && n != -EINTR) XK_ERROR("event rings: poll: %s", std::strerror(-n));
        }
    });
}

void RingPoller::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

int RingPoller::on_record(void *ctx, void *data, size_t size) {
    auto *ring = static_cast<Ring *>(ctx);
    std::lock_guard lock(ring->poller->mu_);
    try {  // nothing may unwind through libbpf's C frames; the record is lost, said once
        ring->handler(data, size);
    } catch (const std::exception &ex) {
        XK_ERROR("%s: a record was lost: %s", ring->what.c_str(), ex.what());
    }
    return 0;
}

}  // namespace xk::daemon
