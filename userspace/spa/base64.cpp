#include "spa/base64.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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
    return b64_decode_unpadded(in.substr(0, in.find('=')), out, n, canonical);
}

namespace {

#if defined(__x86_64__)
// 16 characters to 12 bytes a step (the SSSE3 decoder of aklomp/base64, after Muła): nibble
// lookups both validate (a bit per high nibble, set in the low nibble's entry where that pair
// is no alphabet character; '=' included) and translate, and two multiply-adds pack the
// 6-bit values. Each step stores 16 bytes, so it runs while `room` has 4 spare. Returns the
// characters consumed; `bad` is set if any was not in the alphabet.
__attribute__((target("ssse3"))) size_t decode_ssse3(const uint8_t *s, size_t len, uint8_t *o,
                                                     size_t room, bool &bad) {
    const __m128i lut_lo = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                         0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
    const __m128i lut_hi = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10,
                                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m128i lut_roll =
        _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i mask_2f = _mm_set1_epi8(0x2f);
    const __m128i pack = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    __m128i invalid = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= len && i / 16 * 12 + 16 <= room; i += 16) {
        __m128i str = _mm_loadu_si128(reinterpret_cast<const __m128i *>(s + i));
        const __m128i hi_nibbles = _mm_and_si128(_mm_srli_epi32(str, 4), mask_2f);
        const __m128i lo_nibbles = _mm_and_si128(str, mask_2f);
        const __m128i hi = _mm_shuffle_epi8(lut_hi, hi_nibbles);
        const __m128i lo = _mm_shuffle_epi8(lut_lo, lo_nibbles);
        invalid = _mm_or_si128(invalid, _mm_and_si128(lo, hi));
        const __m128i eq_2f = _mm_cmpeq_epi8(str, mask_2f);  // '/' rolls by the entry before
        str = _mm_add_epi8(str, _mm_shuffle_epi8(lut_roll, _mm_add_epi8(eq_2f, hi_nibbles)));
        const __m128i ab_bc = _mm_maddubs_epi16(str, _mm_set1_epi32(0x01400140));
        const __m128i abcd = _mm_madd_epi16(ab_bc, _mm_set1_epi32(0x00011000));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(o + i / 16 * 12),
                         _mm_shuffle_epi8(abcd, pack));
    }
    bad = _mm_movemask_epi8(_mm_cmpgt_epi8(invalid, _mm_setzero_si128())) != 0;
    return i;
}

bool have_ssse3() {
    static const bool yes = __builtin_cpu_supports("ssse3");
    return yes;
}
#endif

// Whole groups from s[i], scalar; returns false on a non-alphabet character.
bool decode_groups(const uint8_t *s, size_t len, size_t &i, uint8_t *&o, const uint8_t *end) {
    uint32_t bad32 = 0;
    // Two groups a step, their 6 bytes written as one 8-byte store while `out` has the room
    // for its 2 spare bytes (the next step or the tail overwrites them).
    if constexpr (std::endian::native == std::endian::little) {
        for (; i + 8 <= len && o + 8 <= end; i += 8) {
            const uint32_t a = kD0[s[i]] | kD1[s[i + 1]] | kD2[s[i + 2]] | kD3[s[i + 3]];
            const uint32_t b = kD0[s[i + 4]] | kD1[s[i + 5]] | kD2[s[i + 6]] | kD3[s[i + 7]];
            bad32 |= a | b;
            const uint64_t wire = __builtin_bswap64((uint64_t{a} << 40) | (uint64_t{b} << 16));
            std::memcpy(o, &wire, 8);
            o += 6;
        }
    }
    for (; i + 4 <= len; i += 4) {
        const uint32_t v = kD0[s[i]] | kD1[s[i + 1]] | kD2[s[i + 2]] | kD3[s[i + 3]];
        bad32 |= v;
        *o++ = static_cast<uint8_t>(v >> 16);
        *o++ = static_cast<uint8_t>(v >> 8);
        *o++ = static_cast<uint8_t>(v);
    }
    return (bad32 & kBad) == 0;
}

}  // namespace

bool b64_decode_unpadded(std::string_view in, std::span<uint8_t> out, size_t &n, bool canonical) {
    const size_t len = in.size();
    if (len % 4 == 1) return false;
    const size_t produced = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    if (out.size() < produced) return false;

    const auto *s = reinterpret_cast<const uint8_t *>(in.data());
    uint8_t *o = out.data();
    size_t i = 0;
#if defined(__x86_64__)
    if (len >= 32 && have_ssse3()) {
        bool bad_simd = false;
        i = decode_ssse3(s, len, o, out.size(), bad_simd);
        if (bad_simd) return false;
        o += i / 16 * 12;
    }
#endif
    if (!decode_groups(s, len, i, o, out.data() + out.size())) return false;
    uint8_t bad = 0;
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
