// An AF_XDP socket (libxdp, copy mode, no program of its own) bound to one queue, so its
// fd can be put in the gate's xsks map: the kernel only accepts bound sockets there.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

struct xsk_socket;
struct xsk_umem;

namespace xk::test {

class KnockSocket {
  public:
    KnockSocket(const std::string &ifname, uint32_t queue);  // throws std::runtime_error
    ~KnockSocket();
    KnockSocket(const KnockSocket &) = delete;
    KnockSocket &operator=(const KnockSocket &) = delete;

    int fd() const;

  private:
    struct Rings;
    std::unique_ptr<Rings> rings_;  // libxdp writes the ring cursors here: must outlive xsk_
    void *area_ = nullptr;
    struct xsk_umem *umem_ = nullptr;
    struct xsk_socket *xsk_ = nullptr;
};

}  // namespace xk::test
