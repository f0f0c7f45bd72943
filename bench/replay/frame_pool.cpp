#include "replay/frame_pool.hpp"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cstring>
#include <map>
#include <random>
#include <stdexcept>

#include "common/packet_builder.hpp"

namespace xk::replay {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kEth = 14;

// Sets bits [prefix, limit) of addr to index's low bits (network order), prefix bits from net.
void place(std::array<uint8_t, 16> &addr, const SourceNet &net, unsigned limit, uint64_t index) {
    for (unsigned bit = 0; bit < limit; ++bit) {
        unsigned byte = bit / 8, shift = 7 - bit % 8;
        uint8_t v;
        if (bit < net.prefix) {
            v = (net.addr[byte] >> shift) & 1;
        } else {
            unsigned from_low = limit - 1 - bit;
            v = from_low < 64 ? (index >> from_low) & 1 : 0;
        }
        addr[byte] = static_cast<uint8_t>((addr[byte] & ~(1u << shift)) | (v << shift));
    }
}

uint32_t sum16(const uint8_t *p, size_t n, uint32_t s = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i] << 8 | p[i + 1]);
    if (n & 1) s += uint32_t(p[n - 1] << 8);
    return s;
}

uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s);
}

// Recomputes the UDP/TCP checksum after a source change (unfragmented packets only).
void fix_l4(uint8_t *l4, size_t l4len, uint8_t proto, uint32_t pseudo) {
    size_t at = proto == IPPROTO_UDP ? 6 : proto == IPPROTO_TCP ? 16 : 0;
    if (!at || l4len < at + 2) return;
    l4[at] = l4[at + 1] = 0;
    uint16_t c = fold(sum16(l4, l4len, pseudo + proto + uint32_t(l4len)));
    if (proto == IPPROTO_UDP && c == 0) c = 0xffff;
    l4[at] = uint8_t(c >> 8);
    l4[at + 1] = uint8_t(c);
}

}  // namespace

SourceNet parse_source_net(const std::string &text) {
    SourceNet n;
    auto slash = text.find('/');
    if (slash == std::string::npos) throw std::invalid_argument(text + ": expected ADDR/PREFIX");
    std::string a = text.substr(0, slash);
    n.prefix = static_cast<unsigned>(std::stoul(text.substr(slash + 1)));
    n.v6 = a.find(':') != std::string::npos;
    if (inet_pton(n.v6 ? AF_INET6 : AF_INET, a.c_str(), n.addr.data()) != 1)
        throw std::invalid_argument(text + ": not an address");
    if (n.prefix > (n.v6 ? 64u : 31u))
        throw std::invalid_argument(text + ": prefix too long (IPv4 <= 31, IPv6 <= 64)");
    return n;
}

void FramePool::load_pcap(const std::string &path) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path.c_str(), err);
    if (!p) throw std::runtime_error(err);
    if (pcap_datalink(p) != DLT_EN10MB) {
        pcap_close(p);
        throw std::runtime_error(path + ": not an Ethernet capture");
    }
    pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(p, &h, &data) == 1) {
        if (h->caplen >= kEth && h->caplen <= 9000) frames_.emplace_back(data, data + h->caplen);
    }
    pcap_close(p);
}

void FramePool::add_fko_junk(size_t n, const SourceNet &net, const std::string &dst, uint16_t port,
                             uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i < n; ++i) {
        std::string payload(150 + rng() % 151, 'A');
        for (auto &c : payload) c = kB64[rng() % 64];
        payload[0] = "89+/"[rng() % 4];
        std::array<uint8_t, 16> src{};
        auto sport = static_cast<uint16_t>(32768 + rng() % 28232);
        test::PacketBuilder b;
        b.eth();
        if (net.v6) {
            std::memcpy(src.data(), net.addr.data(), 16);
            place(src, net, 64, i);
            src[15] = 1;
            b.ipv6(src, test::parseIpv6(dst));
        } else {
            place(src, net, 32, i);
            b.ipv4(test::Ipv4Addr{src[0], src[1], src[2], src[3]}, test::parseIpv4(dst));
        }
        frames_.push_back(b.udp(sport, port).payload(payload).build());
    }
}

void FramePool::rewrite(const RewriteOptions &o) {
    std::map<std::array<uint8_t, 16>, uint64_t> seen4, seen6;
    for (auto &f : frames_) {
        std::memcpy(f.data(), o.dst_mac.data(), 6);
        std::memcpy(f.data() + 6, o.src_mac.data(), 6);
        uint16_t type = uint16_t(f[12] << 8 | f[13]);
        uint8_t *ip = f.data() + kEth;
        size_t iplen = f.size() - kEth;
        if (type == 0x0800 && o.net4 && iplen >= 20) {
            size_t ihl = (ip[0] & 15u) * 4u;
            if (ihl < 20 || iplen < ihl) continue;
            std::array<uint8_t, 16> key{}, a{};
            std::memcpy(key.data(), ip + 12, 4);
            uint64_t idx = seen4.emplace(key, seen4.size()).first->second;
            place(a, *o.net4, 32, idx);
            std::memcpy(ip + 12, a.data(), 4);
            ip[10] = ip[11] = 0;
            uint16_t c = fold(sum16(ip, ihl));
            ip[10] = uint8_t(c >> 8);
            ip[11] = uint8_t(c);
            bool fragment = (uint16_t(ip[6] << 8 | ip[7]) & 0x3fff) != 0;
            size_t total = std::min<size_t>(uint16_t(ip[2] << 8 | ip[3]), iplen);
            if (!fragment && total > ihl) fix_l4(ip + ihl, total - ihl, ip[9], sum16(ip + 12, 8));
        } else if (type == 0x86dd && o.net6 && iplen >= 40) {
            std::array<uint8_t, 16> key{}, a{};
            std::memcpy(key.data(), ip + 8, 16);
            uint64_t idx = seen6.emplace(key, seen6.size()).first->second;
            a = key;  // the interface identifier stays; the /64 is the source's own
            place(a, *o.net6, 64, idx);
            std::memcpy(ip + 8, a.data(), 16);
            size_t plen = std::min<size_t>(uint16_t(ip[4] << 8 | ip[5]), iplen - 40);
            // Extension headers (fragments) are left alone: only direct UDP/TCP is fixed.
            fix_l4(ip + 40, plen, ip[6], sum16(ip + 8, 32));
        }
    }
}

}  // namespace xk::replay
