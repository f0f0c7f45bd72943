#include "spa/fko_decode.hpp"

#include <array>
#include <cstring>
#include <string.h>
#include <string_view>

#include "spa/base64.hpp"
#include "spa/ct_equal.hpp"
#include "spa/fko_plaintext.hpp"

namespace xk::spa {

namespace {

constexpr std::string_view kPrefix = kRijndaelPrefix;
constexpr std::string_view kSalted = "Salted__";
constexpr size_t kMaxRaw = b64_decoded_max(kMaxWire + kPrefix.size());

std::string_view as_chars(std::span<const uint8_t> s) {
    return {reinterpret_cast<const char *>(s.data()), s.size()};
}

// Base64 of prefix || body into raw, as b64_decode(prefix + body, canonical) would, without
// building that string. The prefix's 10 characters are 2 groups ("Salted") and half of a third:
// that group is finished from body[0..1], and body[2..] is group-aligned. Nor is the body
// scanned for '=' first: '=' is no alphabet character, so a body holding one fails the fast
// decode and only then takes the copying path (decode stops at the '='), which keeps every
// edge case identical; a body that fails without one fails there too.
bool decode_salted(std::string_view body, std::span<uint8_t> raw, size_t &raw_len) {
    static_assert(kPrefix.size() % 4 == 2);
    constexpr size_t kWhole = kPrefix.size() / 4 * 3;  // bytes of the prefix's whole groups
    if (body.size() >= 2) {
        const char group[4] = {kPrefix[kPrefix.size() - 2], kPrefix[kPrefix.size() - 1], body[0],
                               body[1]};
        size_t n1 = 0, n2 = 0;
        if (b64_decode_unpadded({group, 4}, raw.subspan(kWhole, 3), n1) &&
            b64_decode_unpadded(body.substr(2), raw.subspan(kWhole + 3), n2, true)) {
            std::memcpy(raw.data(), kSalted.data(), kWhole);  // what the whole groups decode to
            raw_len = kWhole + 3 + n2;
            return true;
        }
        if (std::memchr(body.data(), '=', body.size()) == nullptr) return false;
    }
    std::array<char, kMaxWire + kPrefix.size()> text;
    std::memcpy(text.data(), kPrefix.data(), kPrefix.size());
    std::memcpy(text.data() + kPrefix.size(), body.data(), body.size());
    return b64_decode({text.data(), kPrefix.size() + body.size()}, raw, raw_len, true);
}

}  // namespace

Reject fko_precheck(std::span<const uint8_t> wire) {
    if (wire.size() < kMinWire) return Reject::too_short;
    if (wire.size() > kMaxWire) return Reject::too_long;
    std::string_view w = as_chars(wire);
    if (w.starts_with(kPrefix)) return Reject::bad_prefix;
    if (!b64_all_alphabet(w)) return Reject::bad_base64;
    return Reject::ok;
}

Reject fko_verify_mac(FkoKeyContext &kc, std::span<const uint8_t> wire, ReplayDigest *tag_key) {
    // The alphabet is left to the base64 decoder after the HMAC: the MAC covers raw bytes, and
    // a per-secret scan would cost ~10% of a failing packet. fko_precheck does it once.
    if (wire.size() < (kc.gpg() ? kGpgMinWire : kMinWire)) return Reject::too_short;
    if (wire.size() > kMaxWire) return Reject::too_long;
    std::string_view w = as_chars(wire);
    if (w.starts_with(kc.prefix())) return Reject::bad_prefix;

    // Encrypt-then-MAC: the MAC covers the base64 text with the prefix put back.
    const size_t mac_len = kc.hmac_b64_len();
    if (w.size() <= mac_len + kAesBlock) return Reject::too_short;
    if (mac_len == 0) return Reject::ok;
    std::string_view body = w.substr(0, w.size() - mac_len);
    std::array<uint8_t, kMaxHashLen> mac;
    std::array<char, b64_len_of(kMaxHashLen)> mac_b64;
    if (!kc.hmac(kc.prefix(), body, mac.data())) return Reject::crypto_error;
    const std::span<const uint8_t> raw_mac{mac.data(), hmac_raw_len(kc.hmac_type())};
    b64_encode(raw_mac, mac_b64);
    if (!ct_equal(mac_b64.data(), w.data() + body.size(), mac_len)) return Reject::hmac_mismatch;
    if (tag_key) *tag_key = tag_replay_key(raw_mac);
    return Reject::ok;
}

Reject fko_decode(FkoKeyContext &kc, std::span<const uint8_t> wire, FkoMessage &out) {
    if (Reject r = fko_verify_mac(kc, wire); r != Reject::ok) return r;
    return fko_open(kc, wire, out);
}

Reject fko_open(FkoKeyContext &kc, std::span<const uint8_t> wire, FkoMessage &out) {
    std::string_view w = as_chars(wire);
    std::string_view body = w.substr(0, w.size() - kc.hmac_b64_len());

    std::array<uint8_t, kMaxRaw> raw;
    size_t raw_len = 0;
    // Canonical base64 and the whole "Salted__" checked: fwknop ignores both the tail bits and
    // the byte hidden in the first wire character, so without HMAC it accepts several wire
    // spellings of one packet, each with its own replay digest. We accept one.
    if (!decode_salted(body, raw, raw_len)) return Reject::bad_base64;
    const size_t head = kSalted.size() + kSaltLen;
    if (raw_len < head + kAesBlock || (raw_len - head) % kAesBlock != 0) return Reject::bad_length;
    if (std::memcmp(raw.data(), kSalted.data(), kSalted.size()) != 0)
        return Reject::bad_salt_header;

    std::array<uint8_t, 32> key;
    std::array<uint8_t, 16> iv;
    std::array<uint8_t, kMaxRaw> pt;
    const size_t ct_len = raw_len - head;
    const bool ok = kc.derive(raw.data() + kSalted.size(), key.data(), iv.data()) &&
                    kc.crypt(false, key.data(), iv.data(), raw.data() + head, ct_len, pt.data());
    explicit_bzero(key.data(), key.size());  // glibc's barrier-backed memset: cheap per packet
    if (!ok) return Reject::crypto_error;

    // fwknop strips v bytes only when the last v bytes all equal v (1..16); otherwise nothing,
    // leaving the field checks to refuse the garbage.
    size_t pt_len = ct_len;
    const uint8_t v = pt[pt_len - 1];
    if (v >= 1 && v <= kAesBlock) {
        bool uniform = true;
        for (size_t i = pt_len - v; i < pt_len; ++i) uniform &= pt[i] == v;
        if (uniform) pt_len -= v;
    }

    return fko_parse_decrypted(kc, {reinterpret_cast<const char *>(pt.data()), pt_len}, out);
}

}  // namespace xk::spa
