#include "agent/held_syn.hpp"

#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "xdpknock/parse.h"

namespace xk::agent {
namespace {

uint32_t sum16(std::span<const uint8_t> b, uint32_t acc = 0) {
    size_t i = 0;
    for (; i + 1 < b.size(); i += 2) acc += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
    if (i < b.size()) acc += static_cast<uint32_t>(b[i] << 8);
    return acc;
}

uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(~acc);
}

// An address as /proc/net/tcp{,6} prints it: each 32-bit word as the host-order value of its
// bytes, so a little-endian machine shows each word's bytes reversed.
std::string proc_address(const uint8_t *bytes, int words) {
    std::string out;
    char buf[9];
    for (int w = 0; w < words; w++) {
        uint32_t v;
        std::memcpy(&v, bytes + 4 * w, 4);
        snprintf(buf, sizeof(buf), "%08X", v);
        out += buf;
    }
    return out;
}

}  // namespace

bool still_syn_sent(const HeldSyn &syn, std::span<const std::string> tables) {
    char port[8];
    snprintf(port, sizeof(port), ":%04X", syn.sport);
    char dport[8];
    snprintf(dport, sizeof(dport), ":%04X", syn.dport);
    // tcp6 lists IPv4 connections of dual-stack sockets as mapped addresses too.
    const std::string remote6 = proc_address(syn.daddr.bytes.data(), 4) + dport;
    const std::string remote4 = proc_address(syn.daddr.bytes.data() + 12, 1) + dport;
    for (const auto &table : tables) {
        std::istringstream in(table);
        std::string line, sl, local, rem, st;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            if (!(f >> sl >> local >> rem >> st)) continue;
            const bool ours = local.size() > 5 && local.compare(local.size() - 5, 5, port) == 0 &&
                              (rem == remote6 || (syn.daddr.is_v4() && rem == remote4));
            if (ours) return st == "02";  // TCP_SYN_SENT
        }
    }
    return false;
}

bool still_syn_sent(const HeldSyn &syn) {
    std::string tables[2];
    const char *files[2] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int i = 0; i < 2; i++) {
        std::ifstream f(files[i]);
        std::ostringstream text;
        text << f.rdbuf();
        tables[i] = text.str();
    }
    return still_syn_sent(syn, tables);
}

std::optional<HeldSyn> parse_held_syn(std::span<const uint8_t> frame) {
    xk_pkt p{};
    if (xk_parse_frame(frame.data(), frame.data() + frame.size(), &p, 0) != XK_PARSE_OK ||
        p.l4proto != IPPROTO_TCP || (p.tcp_flags & (XK_TCP_SYN | XK_TCP_ACK)) != XK_TCP_SYN)
        return std::nullopt;
    return HeldSyn{policy::Address::from_bytes(p.daddr), p.sport, p.dport};
}

bool fix_tcp_checksum(std::span<uint8_t> frame) {
    if (frame.size() < 14) return false;
    const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
    auto ip = frame.subspan(14);
    uint32_t pseudo = 0;
    size_t l4_off = 0, l4_len = 0;
    if (type == 0x0800 && ip.size() >= 20 && ip[9] == IPPROTO_TCP) {
        l4_off = (ip[0] & 0x0f) * 4u;
        const size_t total = static_cast<size_t>(ip[2] << 8 | ip[3]);
        if (l4_off < 20 || total > ip.size() || total < l4_off) return false;
        l4_len = total - l4_off;
        pseudo = sum16(ip.subspan(12, 8), IPPROTO_TCP + static_cast<uint32_t>(l4_len));
    } else if (type == 0x86dd && ip.size() >= 40 && ip[6] == IPPROTO_TCP) {
        l4_off = 40;
        l4_len = static_cast<size_t>(ip[4] << 8 | ip[5]);
        if (40 + l4_len > ip.size()) return false;
        pseudo = sum16(ip.subspan(8, 32), IPPROTO_TCP + static_cast<uint32_t>(l4_len));
    } else {
        return false;
    }
    if (l4_len < 20) return false;
    auto tcp = ip.subspan(l4_off, l4_len);
    tcp[16] = tcp[17] = 0;
    const uint16_t c = fold(sum16(tcp, pseudo));
    tcp[16] = static_cast<uint8_t>(c >> 8);
    tcp[17] = static_cast<uint8_t>(c);
    return true;
}

}  // namespace xk::agent
