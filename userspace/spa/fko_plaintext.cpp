#include "spa/fko_plaintext.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <bit>
#include <cstring>

#include "spa/base64.hpp"
#include "spa/ct_equal.hpp"
#include "spa/fko_access.hpp"

namespace xk::spa {

namespace {

constexpr size_t kMaxTokens = 10;  // 9 ':' at most

bool all_digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return !s.empty();
}

bool all_printable(std::string_view s) {
    // Accumulate instead of branching per byte.
    unsigned bad = 0;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        bad |= (u < 0x20) | (u > 0x7e);
    }
    return bad == 0;
}

// Decodes a base64 field into `dst`; the result must be non-empty printable text. Fields
// carry no '=' (fwknop strips it): decoded at once, and only a field that fails that (maybe
// for a '=', where decoding stops) is decoded again the general way.
template <size_t N>
bool decode_text(std::string_view enc, InlineString<N> &dst) {
    size_t n = 0;
    const std::span<uint8_t> out(reinterpret_cast<uint8_t *>(dst.data.data()), N);
    if (!b64_decode_unpadded(enc, out, n) && !b64_decode(enc, out, n)) return false;
    dst.len = static_cast<uint16_t>(n);
    return n > 0 && all_printable(dst.view());
}

// libfko's username rule (Windows-safe): no " / \ [ ] : ; | = , + * ? < >. A table, not a
// search of that set per character.
constexpr std::array<bool, 256> kUserBanned = [] {
    std::array<bool, 256> t{};
    for (char c : std::string_view("\"/\\[]:;|=,+*?<>")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool valid_user(std::string_view u) {
    bool banned = false;
    for (char c : u) banned |= kUserBanned[static_cast<unsigned char>(c)];
    return !banned;
}

bool parse_uint(std::string_view s, uint64_t max, uint64_t &v) {
    if (!all_digits(s)) return false;
    uint64_t x = 0;
    for (char c : s) {
        x = x * 10 + uint64_t(c - '0');
        if (x > max) return false;
    }
    v = x;
    return true;
}

bool digest_matches(FkoKeyContext &kc, DigestType t, std::string_view data, std::string_view want) {
    std::array<uint8_t, kMaxHashLen> raw;
    std::array<char, b64_len_of(kMaxHashLen)> b64;
    if (!kc.digest(t, data, raw.data())) return false;
    size_t n = b64_encode({raw.data(), digest_raw_len(t)}, b64);
    return n == want.size() && ct_equal(b64.data(), want.data(), n);
}

// Length picks the type; 43 and 86 characters are shared by SHA-2 and SHA-3.
Reject verify_digest(FkoKeyContext &kc, std::string_view data, std::string_view digest,
                     DigestType &type) {
    DigestType first = DigestType::md5, second = DigestType::md5;
    bool two = false;
    switch (digest.size()) {
        case 22:
            first = DigestType::md5;
            break;
        case 27:
            first = DigestType::sha1;
            break;
        case 43:
            first = DigestType::sha256, second = DigestType::sha3_256, two = true;
            break;
        case 64:
            first = DigestType::sha384;
            break;
        case 86:
            first = DigestType::sha512, second = DigestType::sha3_512, two = true;
            break;
        default:
            return Reject::unknown_digest;
    }
    if (digest_matches(kc, first, data, digest)) {
        type = first;
        return Reject::ok;
    }
    if (two && digest_matches(kc, second, data, digest)) {
        type = second;
        return Reject::ok;
    }
    return Reject::digest_mismatch;
}

}  // namespace

namespace {

// The fields of a plaintext, as offsets: nothing to zero per packet.
struct Tokens {
    std::string_view pt;
    std::array<uint16_t, kMaxTokens + 1> starts;  // starts[i]: field i's first byte; +1 past
    std::string_view operator[](size_t i) const {
        return {pt.data() + starts[i], static_cast<size_t>(starts[i + 1] - starts[i] - 1)};
    }
};

#if defined(__SSE2__)
// One 16-byte vector at base + at: its ':' (from byte `from` on) into tok, its bytes outside
// printable ASCII into badv. False when a tenth ':' makes too many fields.
bool scan16(const char *base, size_t at, unsigned from, Tokens &tok, size_t &ntok, __m128i &badv) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(base + at));
    // Signed compare: bytes from 0x80 are negative, so below ' ' too.
    badv = _mm_or_si128(badv, _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                           _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
    auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))));
    for (m &= ~0u << from; m; m &= m - 1) {
        if (ntok == kMaxTokens) return false;
        tok.starts[ntok++] =
            static_cast<uint16_t>(at + static_cast<size_t>(std::countr_zero(m)) + 1);
    }
    return true;
}
#endif

// One pass finds the ':' and the bytes outside printable ASCII: 16 at a time with SSE2 (the
// last vector overlapping the one before; memchr per field cost a call each), bytewise
// without SSE2. Same verdicts in the same order: too many fields first, then not printable.
Reject split_fields(std::string_view pt, Tokens &tok, size_t &ntok) {
    tok.pt = pt;
    ntok = 1;
    tok.starts[0] = 0;
    const char *const base = pt.data();
    size_t i = 0;
    unsigned bad = 0;
#if defined(__SSE2__)
    static_assert(kMinPlaintext >= 16);
    __m128i badv = _mm_setzero_si128();
    for (; i + 16 <= pt.size(); i += 16)
        if (!scan16(base, i, 0, tok, ntok, badv)) return Reject::bad_fields;
    if (i < pt.size()) {
        const size_t at = pt.size() - 16;
        if (!scan16(base, at, static_cast<unsigned>(i - at), tok, ntok, badv))
            return Reject::bad_fields;
        i = pt.size();
    }
    bad = static_cast<unsigned>(_mm_movemask_epi8(badv));
#endif
    for (; i < pt.size(); ++i) {
        const auto u = static_cast<unsigned char>(base[i]);
        bad |= (u < 0x20) | (u > 0x7e);
        if (u != ':') continue;
        if (ntok == kMaxTokens) return Reject::bad_fields;
        tok.starts[ntok++] = static_cast<uint16_t>(i + 1);
    }
    if (bad) return Reject::not_printable;
    tok.starts[ntok] = static_cast<uint16_t>(pt.size() + 1);
    return ntok < 7 ? Reject::bad_fields : Reject::ok;
}

// rand, user, timestamp, version, message type: the fields every message has.
Reject parse_head(const Tokens &tok, FkoMessage &out) {
    // rand: 16 decimal digits.
    if (tok[0].size() != kRandLen || !all_digits(tok[0])) return Reject::bad_rand;
    std::memcpy(out.rand.data(), tok[0].data(), kRandLen);

    if (tok[1].size() > kMaxUserEncoded) return Reject::field_too_long;
    if (!decode_text(tok[1], out.user) || !valid_user(out.user.view())) return Reject::bad_user;

    uint64_t v = 0;
    if (tok[2].size() > kMaxTimestampDigits) return Reject::field_too_long;
    // libfko stores the timestamp as a C int: later than 2038-01-19 is refused there too.
    if (!parse_uint(tok[2], kMaxTimestamp, v)) return Reject::bad_timestamp;
    out.timestamp = static_cast<int64_t>(v);

    if (tok[3].size() > kMaxVersion) return Reject::field_too_long;
    if (tok[3].empty()) return Reject::bad_version;
    std::memcpy(out.version.data.data(), tok[3].data(), tok[3].size());
    out.version.len = static_cast<uint16_t>(tok[3].size());

    if (tok[4].size() > 2) return Reject::field_too_long;
    if (!parse_uint(tok[4], 6, v)) return Reject::bad_message_type;
    out.type = static_cast<MsgType>(v);
    return Reject::ok;
}

// The optional fields after the message, in order: [nat] [server_auth] [timeout].
Reject parse_tail(const Tokens &tok, bool nat, bool auth, bool timeout, FkoMessage &out) {
    size_t i = 6;
    out.has_nat = nat;
    if (nat) {
        if (tok[i].size() > kMaxFieldEncoded) return Reject::field_too_long;
        if (!decode_text(tok[i], out.nat_access)) return Reject::bad_nat_access;
        if (Reject r = parse_nat_access(out); r != Reject::ok) return r;
        ++i;
    } else {
        out.nat_access.len = 0;
        out.nat_host_len = 0;
        out.nat_port = 0;
    }
    out.has_server_auth = auth;
    out.server_auth.len = 0;
    if (auth) {
        if (tok[i].size() > kMaxFieldEncoded) return Reject::field_too_long;
        if (!decode_text(tok[i], out.server_auth)) return Reject::bad_server_auth;
        ++i;
    }
    out.has_client_timeout = timeout;
    out.client_timeout = 0;
    if (timeout) {
        uint64_t v = 0;
        if (tok[i].size() > kMaxFieldEncoded) return Reject::field_too_long;
        if (!parse_uint(tok[i], kMaxClientTimeout, v)) return Reject::bad_client_timeout;
        out.client_timeout = static_cast<uint32_t>(v);
    }
    return Reject::ok;
}

}  // namespace

Reject fko_parse_decrypted(FkoKeyContext &kc, std::string_view pt, FkoMessage &out) {
    if (pt.size() <= kRandLen || pt[kRandLen] != ':') return Reject::decrypt_failed;
    for (size_t i = 0; i < kRandLen; ++i)
        if (pt[i] < '0' || pt[i] > '9') return Reject::decrypt_failed;
    return fko_parse_plaintext(kc, pt, out);
}

Reject fko_parse_plaintext(FkoKeyContext &kc, std::string_view pt, FkoMessage &out) {
    if (pt.size() < kMinPlaintext || pt.size() > kMaxPlaintext) return Reject::bad_plaintext_length;
    Tokens tok;
    size_t ntok = 0;
    if (Reject r = split_fields(pt, tok, ntok); r != Reject::ok) return r;

    std::string_view digest = tok[ntok - 1];
    std::string_view signed_part = pt.substr(0, pt.size() - digest.size() - 1);
    if (Reject r = verify_digest(kc, signed_part, digest, out.digest_type); r != Reject::ok)
        return r;
    if (Reject r = parse_head(tok, out); r != Reject::ok) return r;

    const bool nat = msg_has_nat(out.type), timeout = msg_has_timeout(out.type);
    const size_t fixed = 6 + nat + timeout;  // fields before the digest
    const size_t before_digest = ntok - 1;
    if (before_digest != fixed && before_digest != fixed + 1) return Reject::bad_fields;
    const bool auth = before_digest == fixed + 1;

    if (tok[5].size() > kMaxFieldEncoded) return Reject::field_too_long;
    if (!decode_text(tok[5], out.message)) return Reject::bad_message;
    if (Reject r =
            out.type == MsgType::command ? parse_command_message(out) : parse_access_message(out);
        r != Reject::ok)
        return r;
    if (out.type == MsgType::command) out.port_count = 0;
    return parse_tail(tok, nat, auth, timeout, out);
}

bool fko_user_name_ok(std::string_view user) {
    return !user.empty() && user.size() <= kMaxUserEncoded * 3 / 4 && all_printable(user) &&
           valid_user(user);
}

}  // namespace xk::spa
