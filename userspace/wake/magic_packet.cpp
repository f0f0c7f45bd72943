#include "wake/magic_packet.hpp"

#include <cstdio>
#include <cstring>

namespace xk::wake {

MagicPacket magic_packet(const Mac &target) {
    MagicPacket p;
    std::memset(p.data(), 0xff, 6);
    for (size_t i = 0; i < 16; ++i) std::memcpy(p.data() + 6 + i * 6, target.data(), 6);
    return p;
}

WakeFrame wake_frame(const Mac &source, const Mac &target) {
    WakeFrame f;
    std::memset(f.data(), 0xff, 6);
    std::memcpy(f.data() + 6, source.data(), 6);
    f[12] = kEtherTypeWake >> 8;
    f[13] = kEtherTypeWake & 0xff;
    const MagicPacket p = magic_packet(target);
    std::memcpy(f.data() + 14, p.data(), p.size());
    return f;
}

bool is_magic_packet_for(const uint8_t *payload, size_t size, const Mac &target) {
    const MagicPacket want = magic_packet(target);
    return size >= want.size() && std::memcmp(payload, want.data(), want.size()) == 0;
}

std::string format_mac(const Mac &mac) {
    char text[18];
    snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    return text;
}

}  // namespace xk::wake
