#include "knock_socket.hpp"

#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace xk::test {
namespace {

constexpr uint32_t kFrames = 64;  // the gate tests never receive: a token umem is enough
constexpr size_t kAreaSize = size_t(kFrames) * XSK_UMEM__DEFAULT_FRAME_SIZE;

}  // namespace

struct KnockSocket::Rings {
    xsk_ring_prod fill, tx;
    xsk_ring_cons comp, rx;
};

KnockSocket::KnockSocket(const std::string &ifname, uint32_t queue)
    : rings_(std::make_unique<Rings>()) {
    area_ = mmap(nullptr, kAreaSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area_ == MAP_FAILED) {
        area_ = nullptr;
        throw std::runtime_error("mmap umem: " + std::string(std::strerror(errno)));
    }
    if (int rc =
            xsk_umem__create(&umem_, area_, kAreaSize, &rings_->fill, &rings_->comp, nullptr)) {
        munmap(area_, kAreaSize);
        throw std::runtime_error("xsk_umem__create: " + std::string(std::strerror(-rc)));
    }
    xsk_socket_config cfg{};
    cfg.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
    cfg.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS;
    cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // the gate is the program
    cfg.xdp_flags = XDP_FLAGS_SKB_MODE;
    cfg.bind_flags = XDP_COPY;
    if (int rc = xsk_socket__create(&xsk_, ifname.c_str(), queue, umem_, &rings_->rx, &rings_->tx,
                                    &cfg)) {
        xsk_umem__delete(umem_);
        munmap(area_, kAreaSize);
        throw std::runtime_error("xsk_socket__create on " + ifname + ": " + std::strerror(-rc));
    }
}

KnockSocket::~KnockSocket() {
    xsk_socket__delete(xsk_);
    xsk_umem__delete(umem_);
    munmap(area_, kAreaSize);
}

int KnockSocket::fd() const {
    return xsk_socket__fd(xsk_);
}

}  // namespace xk::test
