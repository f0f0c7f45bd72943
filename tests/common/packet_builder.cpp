#include "common/packet_builder.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace xk::test {
namespace {

constexpr uint8_t kProtoHopOpts = 0;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIpip = 4;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIpv6 = 41;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoNoNext = 59;
constexpr uint8_t kProtoDstOpts = 60;
constexpr uint8_t kProtoRaw = 255;

using Builder = PacketBuilder;

void put8(Bytes &b, uint8_t v) {
    b.push_back(v);
}
void put16(Bytes &b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes &b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
template <size_t N>
void putAll(Bytes &b, const std::array<uint8_t, N> &a) {
    b.insert(b.end(), a.begin(), a.end());
}
void set16(Bytes &b, size_t off, uint16_t v) {
    b[off] = static_cast<uint8_t>(v >> 8);
    b[off + 1] = static_cast<uint8_t>(v);
}

// Options areas end on a 4-byte boundary; EOL (0) is valid padding for IPv4 and TCP.
Bytes padOptions(Bytes options, size_t limit, const char *what) {
    options.resize((options.size() + 3) / 4 * 4, 0);
    if (options.size() > limit) throw std::invalid_argument(std::string(what) + " too long");
    return options;
}

// Fill an IPv6 options area with Pad1/PadN so the header stays well formed.
void putIpv6Padding(Bytes &b, size_t n) {
    if (n == 1) return put8(b, 0);  // Pad1
    if (n == 0) return;
    put8(b, 1);  // PadN
    put8(b, static_cast<uint8_t>(n - 2));
    b.insert(b.end(), n - 2, 0);
}

// EtherType (or TPID) announcing layer `i`; a VLAN tag followed by another is 802.1ad.
uint16_t etherTypeOf(const std::vector<Builder::Layer> &layers, size_t i) {
    if (i >= layers.size()) return 0x88b5;  // IEEE local experimental: "nothing we model"
    const auto &l = layers[i];
    if (std::holds_alternative<Builder::Vlan>(l))
        return i + 1 < layers.size() && std::holds_alternative<Builder::Vlan>(layers[i + 1])
                   ? 0x88a8
                   : 0x8100;
    if (std::holds_alternative<Builder::Ipv4>(l)) return 0x0800;
    if (std::holds_alternative<Builder::Ipv6>(l)) return 0x86dd;
    if (std::holds_alternative<Builder::Arp>(l)) return 0x0806;
    return 0x88b5;
}

// Protocol / next-header value announcing layer `i` after an IP header of `family`.
uint8_t protoOf(const std::vector<Builder::Layer> &layers, size_t i, int family) {
    if (i >= layers.size()) return family == 6 ? kProtoNoNext : kProtoRaw;
    const auto &l = layers[i];
    if (std::holds_alternative<Builder::Udp>(l)) return kProtoUdp;
    if (std::holds_alternative<Builder::Tcp>(l)) return kProtoTcp;
    if (std::holds_alternative<Builder::Icmp>(l)) return family == 6 ? kProtoIcmpv6 : kProtoIcmp;
    if (auto *e = std::get_if<Builder::Ipv6Ext>(&l)) return e->type;
    if (auto *r = std::get_if<Builder::L4Raw>(&l)) return r->proto;
    if (std::holds_alternative<Builder::Ipv4>(l)) return kProtoIpip;
    if (std::holds_alternative<Builder::Ipv6>(l)) return kProtoIpv6;
    return family == 6 ? kProtoNoNext : kProtoRaw;
}

// Unfolded sum of the pseudo header the UDP/TCP/ICMPv6 checksum covers.
uint32_t pseudoHeaderSum(const Bytes &frame, size_t ipOff, int family, uint8_t proto,
                         size_t l4Len) {
    uint32_t sum = 0;
    auto words = [&](size_t off, size_t n) {
        for (size_t k = 0; k < n; k += 2) sum += (frame[off + k] << 8) | frame[off + k + 1];
    };
    if (family == 4) {
        words(ipOff + 12, 8);  // saddr, daddr
    } else {
        words(ipOff + 8, 32);
        sum += static_cast<uint32_t>(l4Len >> 16);
    }
    sum += proto;
    sum += static_cast<uint32_t>(l4Len & 0xffff);
    return sum;
}

}  // namespace

Mac parseMac(std::string_view text) {
    Mac mac{};
    size_t pos = 0;
    for (size_t i = 0; i < mac.size(); i++) {
        if (i > 0) {
            if (pos >= text.size() || text[pos] != ':') throw std::invalid_argument("bad MAC");
            pos++;
        }
        int value = 0;
        for (int d = 0; d < 2; d++, pos++) {
            if (pos >= text.size()) throw std::invalid_argument("bad MAC");
            char c = text[pos];
            int nibble = c >= '0' && c <= '9'   ? c - '0'
                         : c >= 'a' && c <= 'f' ? c - 'a' + 10
                         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                : -1;
            if (nibble < 0) throw std::invalid_argument("bad MAC");
            value = value * 16 + nibble;
        }
        mac[i] = static_cast<uint8_t>(value);
    }
    if (pos != text.size()) throw std::invalid_argument("bad MAC");
    return mac;
}

Ipv4Addr parseIpv4(std::string_view text) {
    Ipv4Addr a{};
    if (inet_pton(AF_INET, std::string(text).c_str(), a.data()) != 1)
        throw std::invalid_argument("bad IPv4 address");
    return a;
}

Ipv6Addr parseIpv6(std::string_view text) {
    Ipv6Addr a{};
    if (inet_pton(AF_INET6, std::string(text).c_str(), a.data()) != 1)
        throw std::invalid_argument("bad IPv6 address");
    return a;
}

uint16_t inetChecksum(std::span<const uint8_t> bytes, uint32_t seed) {
    uint64_t sum = seed;
    size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
    if (i < bytes.size()) sum += bytes[i] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

Builder &Builder::eth(std::string_view src, std::string_view dst) {
    return eth(parseMac(src), parseMac(dst));
}
Builder &Builder::eth(const Mac &src, const Mac &dst) {
    layers_.push_back(Eth{src, dst});
    return *this;
}
Builder &Builder::vlan(uint16_t id, uint8_t pcp) {
    if (id > 0xfff || pcp > 7) throw std::invalid_argument("bad VLAN id or PCP");
    layers_.push_back(Vlan{static_cast<uint16_t>((pcp << 13) | id)});
    return *this;
}
Builder &Builder::arp(std::string_view senderIp, std::string_view targetIp, uint16_t op) {
    layers_.push_back(Arp{op, parseIpv4(senderIp), parseIpv4(targetIp)});
    return *this;
}

Builder &Builder::ipv4(std::string_view src, std::string_view dst, Ipv4Options opts) {
    return ipv4(parseIpv4(src), parseIpv4(dst), std::move(opts));
}
Builder &Builder::ipv4(const Ipv4Addr &src, const Ipv4Addr &dst, Ipv4Options opts) {
    if (opts.fragOffset % 8) throw std::invalid_argument("fragment offset not a multiple of 8");
    opts.options = padOptions(std::move(opts.options), 40, "IPv4 options");
    layers_.push_back(Ipv4{src, dst, std::move(opts)});
    return *this;
}
Builder &Builder::ipv6(std::string_view src, std::string_view dst, Ipv6Options opts) {
    return ipv6(parseIpv6(src), parseIpv6(dst), opts);
}
Builder &Builder::ipv6(const Ipv6Addr &src, const Ipv6Addr &dst, Ipv6Options opts) {
    layers_.push_back(Ipv6{src, dst, opts});
    return *this;
}
Builder &Builder::hopByHop(size_t length) {
    if (length < 8 || length % 8 || length > 2048) throw std::invalid_argument("bad HBH length");
    layers_.push_back(Ipv6Ext{kProtoHopOpts, length, 0, false, 0});
    return *this;
}
Builder &Builder::destOpts(size_t length) {
    if (length < 8 || length % 8 || length > 2048) throw std::invalid_argument("bad DO length");
    layers_.push_back(Ipv6Ext{kProtoDstOpts, length, 0, false, 0});
    return *this;
}
Builder &Builder::fragment6(uint16_t offset, bool more, uint32_t id) {
    if (offset % 8) throw std::invalid_argument("fragment offset not a multiple of 8");
    layers_.push_back(Ipv6Ext{kProtoFragment, 8, offset, more, id});
    return *this;
}

Builder &Builder::udp(uint16_t sport, uint16_t dport) {
    layers_.push_back(Udp{sport, dport});
    return *this;
}
Builder &Builder::tcp(uint16_t sport, uint16_t dport, uint8_t flags, TcpOptions opts) {
    opts.options = padOptions(std::move(opts.options), 40, "TCP options");
    layers_.push_back(Tcp{sport, dport, flags, std::move(opts)});
    return *this;
}
Builder &Builder::icmp(uint8_t type, uint8_t code) {
    layers_.push_back(Icmp{type, code});
    return *this;
}
Builder &Builder::l4Raw(uint8_t proto, std::span<const uint8_t> bytes) {
    layers_.push_back(L4Raw{proto, Bytes(bytes.begin(), bytes.end())});
    return *this;
}

Builder &Builder::payload(std::span<const uint8_t> bytes) {
    layers_.push_back(Payload{Bytes(bytes.begin(), bytes.end())});
    return *this;
}
Builder &Builder::payload(std::string_view text) {
    layers_.push_back(Payload{Bytes(text.begin(), text.end())});
    return *this;
}
Builder &Builder::payload(std::initializer_list<uint8_t> bytes) {
    layers_.push_back(Payload{Bytes(bytes)});
    return *this;
}

Builder &Builder::padTo(size_t frameLength) {
    padTo_ = frameLength;
    return *this;
}
Builder &Builder::truncate(size_t n) {
    truncate_ = n;
    return *this;
}

Bytes Builder::build() const {
    Bytes out;
    std::vector<size_t> offsets(layers_.size());
    std::vector<size_t> enclosingIp(layers_.size(), SIZE_MAX);  // IP layer index per layer
    size_t ip = SIZE_MAX;
    Mac lastSrc{};

    for (size_t i = 0; i < layers_.size(); i++) {
        offsets[i] = out.size();
        enclosingIp[i] = ip;
        const Layer &l = layers_[i];
        if (auto *e = std::get_if<Eth>(&l)) {
            putAll(out, e->dst);
            putAll(out, e->src);
            put16(out, etherTypeOf(layers_, i + 1));
            lastSrc = e->src;
        } else if (auto *v = std::get_if<Vlan>(&l)) {
            put16(out, v->tci);
            put16(out, etherTypeOf(layers_, i + 1));
        } else if (auto *a = std::get_if<Arp>(&l)) {
            put16(out, 1);       // Ethernet
            put16(out, 0x0800);  // IPv4
            put8(out, 6);
            put8(out, 4);
            put16(out, a->op);
            putAll(out, lastSrc);
            putAll(out, a->sender);
            putAll(out, Mac{});
            putAll(out, a->target);
        } else if (auto *v4 = std::get_if<Ipv4>(&l)) {
            const Ipv4Options &o = v4->opts;
            put8(out, static_cast<uint8_t>(0x40 | (5 + o.options.size() / 4)));
            put8(out, 0);
            put16(out, 0);  // total length: fixed up below
            put16(out, o.id);
            put16(out, static_cast<uint16_t>((o.dontFragment ? 0x4000 : 0) |
                                             (o.moreFragments ? 0x2000 : 0) | (o.fragOffset / 8)));
            put8(out, o.ttl);
            put8(out, protoOf(layers_, i + 1, 4));
            put16(out, 0);  // header checksum: below
            putAll(out, v4->src);
            putAll(out, v4->dst);
            out.insert(out.end(), o.options.begin(), o.options.end());
            ip = i;
        } else if (auto *v6 = std::get_if<Ipv6>(&l)) {
            const Ipv6Options &o = v6->opts;
            put32(out, (6u << 28) | (uint32_t{o.trafficClass} << 20) | (o.flowLabel & 0xfffff));
            put16(out, 0);  // payload length: below
            put8(out, protoOf(layers_, i + 1, 6));
            put8(out, o.hopLimit);
            putAll(out, v6->src);
            putAll(out, v6->dst);
            ip = i;
        } else if (auto *x = std::get_if<Ipv6Ext>(&l)) {
            put8(out, protoOf(layers_, i + 1, 6));
            if (x->type == kProtoFragment) {
                put8(out, 0);
                put16(out, static_cast<uint16_t>(x->fragOffset | (x->more ? 1 : 0)));
                put32(out, x->fragId);
            } else {
                put8(out, static_cast<uint8_t>(x->length / 8 - 1));
                putIpv6Padding(out, x->length - 2);
            }
        } else if (auto *u = std::get_if<Udp>(&l)) {
            put16(out, u->sport);
            put16(out, u->dport);
            put32(out, 0);  // length and checksum: below
        } else if (auto *t = std::get_if<Tcp>(&l)) {
            put16(out, t->sport);
            put16(out, t->dport);
            put32(out, t->opts.seq);
            put32(out, t->opts.ack);
            put8(out, static_cast<uint8_t>((5 + t->opts.options.size() / 4) << 4));
            put8(out, t->flags);
            put16(out, t->opts.window);
            put32(out, 0);  // checksum and urgent pointer
            out.insert(out.end(), t->opts.options.begin(), t->opts.options.end());
        } else if (auto *c = std::get_if<Icmp>(&l)) {
            put8(out, c->type);
            put8(out, c->code);
            put16(out, 0);
            put32(out, 0);
        } else if (auto *r = std::get_if<L4Raw>(&l)) {
            out.insert(out.end(), r->bytes.begin(), r->bytes.end());
        } else if (auto *p = std::get_if<Payload>(&l)) {
            out.insert(out.end(), p->bytes.begin(), p->bytes.end());
        }
    }

    // Lengths run to the end of the datagram; checksums need the lengths in place first.
    const size_t end = out.size();
    for (size_t i = 0; i < layers_.size(); i++) {
        size_t off = offsets[i];
        if (std::holds_alternative<Ipv4>(layers_[i])) set16(out, off + 2, uint16_t(end - off));
        if (std::holds_alternative<Ipv6>(layers_[i])) set16(out, off + 4, uint16_t(end - off - 40));
        if (std::holds_alternative<Udp>(layers_[i])) set16(out, off + 4, uint16_t(end - off));
    }
    for (size_t i = 0; i < layers_.size(); i++) {
        size_t off = offsets[i];
        size_t ipIdx = enclosingIp[i];
        int fam = ipIdx == SIZE_MAX ? 0 : std::holds_alternative<Ipv4>(layers_[ipIdx]) ? 4 : 6;
        std::span<const uint8_t> l4(out.data() + off, end - off);
        auto pseudo = [&](uint8_t proto) {
            return pseudoHeaderSum(out, offsets[ipIdx], fam, proto, end - off);
        };
        if (std::holds_alternative<Udp>(layers_[i]) && fam) {
            uint16_t sum = inetChecksum(l4, pseudo(kProtoUdp));
            set16(out, off + 6, sum ? sum : 0xffff);  // 0 means "no checksum" in UDP
        } else if (std::holds_alternative<Tcp>(layers_[i]) && fam) {
            set16(out, off + 16, inetChecksum(l4, pseudo(kProtoTcp)));
        } else if (std::holds_alternative<Icmp>(layers_[i])) {
            set16(out, off + 2,
                  fam == 6 ? inetChecksum(l4, pseudo(kProtoIcmpv6)) : inetChecksum(l4));
        }
    }
    for (size_t i = 0; i < layers_.size(); i++) {
        if (!std::holds_alternative<Ipv4>(layers_[i])) continue;
        size_t off = offsets[i];
        size_t ihl = (out[off] & 0x0f) * 4u;
        set16(out, off + 10, inetChecksum(std::span<const uint8_t>(out.data() + off, ihl)));
    }

    if (out.size() < padTo_) out.resize(padTo_, 0);
    if (out.size() > truncate_) out.resize(truncate_);
    return out;
}

}  // namespace xk::test
