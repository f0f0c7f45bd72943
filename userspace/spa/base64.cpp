#include "spa/base64.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace xk::spa {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> make_table() {
    std::array<uint8_t, 256> t{};
    for (auto &v : t) v = kInvalid;
    for (uint8_t i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
    return t;
}
constexpr std::array<uint8_t, 256> kTable = make_table();

// Four tables holding each character's 6 bits already shifted into place for its position in
// a 4-character group; bit 31 marks an invalid character, so a group decodes with 4 loads and
// 3 ORs and is checked with one test.
constexpr uint32_t kBad = 0x80000000u;
constexpr std::array<uint32_t, 256> make_shifted(int shift) {
    std::array<uint32_t, 256> t{};
    for (size_t i = 0; i < 256; ++i)
        t[i] = kTable[i] == kInvalid ? kBad : uint32_t{kTable[i]} << shift;
    return t;
}
constexpr std::array<uint32_t, 256> kD0 = make_shifted(18), kD1 = make_shifted(12),
                                    kD2 = make_shifted(6), kD3 = make_shifted(0);

// Two characters per 12 bits: a 3-byte group encodes with two loads instead of four.
constexpr std::array<uint16_t, 4096> make_pairs() {
    std::array<uint16_t, 4096> t{};
    for (size_t i = 0; i < 4096; ++i) {
        const auto hi = static_cast<uint8_t>(kAlphabet[i >> 6]);
        const auto lo = static_cast<uint8_t>(kAlphabet[i & 63]);
        t[i] = static_cast<uint16_t>(hi | (lo << 8));  // little-endian: hi is the first char
    }
    return t;
}
constexpr std::array<uint16_t, 4096> kPairs = make_pairs();

}  // namespace

bool b64_is_alphabet(char c) {
    return kTable[static_cast<uint8_t>(c)] != kInvalid;
}

bool b64_all_alphabet(std::string_view s) {
    // Range compares, no table and no early exit: the compiler vectorises this.
    unsigned bad = 0;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        const bool ok = static_cast<unsigned char>(c - 'A') < 26 ||
                        static_cast<unsigned char>(c - 'a') < 26 ||
                        static_cast<unsigned char>(c - '0') < 10 || c == '+' || c == '/';
        bad |= !ok;
    }
    return bad == 0;
}

size_t b64_encode(std::span<const uint8_t> in, std::span<char> out) {
    const size_t need = b64_encoded_len(in.size());
    if (out.size() < need) return 0;
    const uint8_t *p = in.data();
    char *o = out.data();
    size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
        if constexpr (std::endian::native == std::endian::little) {
            const uint32_t quad = kPairs[v >> 12] | (uint32_t{kPairs[v & 0xfff]} << 16);
            std::memcpy(o, &quad, 4);
            o += 4;
        } else {
            *o++ = kAlphabet[(v >> 18) & 63];
            *o++ = kAlphabet[(v >> 12) & 63];
            *o++ = kAlphabet[(v >> 6) & 63];
            *o++ = kAlphabet[v & 63];
        }
    }
    const size_t rest = in.size() - i;
    if (rest == 1) {
        uint32_t v = uint32_t{p[i]} << 16;
        *o++ = kAlphabet[(v >> 18) & 63];
        *o++ = kAlphabet[(v >> 12) & 63];
    } else if (rest == 2) {
        uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
        *o++ = kAlphabet[(v >> 18) & 63];
        *o++ = kAlphabet[(v >> 12) & 63];
        *o++ = kAlphabet[(v >> 6) & 63];
    }
    return need;
}

bool b64_decode(std::string_view in, std::span<uint8_t> out, size_t &n, bool canonical) {
    size_t len = in.find('=');
    if (len == std::string_view::npos) len = in.size();
    if (len % 4 == 1) return false;
    const size_t produced = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    if (out.size() < produced) return false;

    const auto *s = reinterpret_cast<const uint8_t *>(in.data());
    uint8_t *o = out.data();
    uint8_t bad = 0;
    size_t i = 0;
    uint32_t bad32 = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t v = kD0[s[i]] | kD1[s[i + 1]] | kD2[s[i + 2]] | kD3[s[i + 3]];
        bad32 |= v;
        *o++ = static_cast<uint8_t>(v >> 16);
        *o++ = static_cast<uint8_t>(v >> 8);
        *o++ = static_cast<uint8_t>(v);
    }
    if (bad32 & kBad) return false;
    const size_t rest = len - i;
    if (rest >= 2) {
        uint8_t a = kTable[s[i]], b = kTable[s[i + 1]];
        uint8_t c = rest == 3 ? kTable[s[i + 2]] : 0;
        bad |= (a | b | c) & 0xc0;
        if (canonical) bad |= rest == 3 ? (c & 0x03) : (b & 0x0f);
        uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6);
        *o++ = static_cast<uint8_t>(v >> 16);
        if (rest == 3) *o++ = static_cast<uint8_t>(v >> 8);
    }
    if (bad) return false;
    n = produced;
    return true;
}

}  // namespace xk::spa
