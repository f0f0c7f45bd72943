#include "spa/fko_encode.hpp"

#include <cstdio>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "spa/base64.hpp"
#include "spa/fko_plaintext.hpp"

namespace xk::spa {

namespace {

constexpr std::string_view kPrefix = "U2FsdGVkX1";
constexpr std::string_view kSalted = "Salted__";
constexpr size_t kMaxPlainBuf = 1536;

// Appends to a fixed buffer; `ok` turns false on overflow instead of writing past the end.
struct Writer {
    char *buf;
    size_t cap;
    size_t len = 0;
    bool ok = true;
    void put(std::string_view s) {
        if (!ok || s.size() > cap - len) {
            ok = false;
            return;
        }
        std::memcpy(buf + len, s.data(), s.size());
        len += s.size();
    }
    void put_b64(std::string_view s) {
        const size_t n = b64_encoded_len(s.size());
        if (!ok || n > cap - len) {
            ok = false;
            return;
        }
        b64_encode({reinterpret_cast<const uint8_t *>(s.data()), s.size()}, {buf + len, n});
        len += n;
    }
    std::string_view view() const { return {buf, len}; }
};

bool random_digits(std::array<char, kRandLen> &out) {
    // Rejection sampling keeps each digit uniform.
    size_t have = 0;
    while (have < kRandLen) {
        uint8_t bytes[32];
        if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
        for (uint8_t b : bytes)
            if (b < 250 && have < kRandLen) out[have++] = char('0' + b % 10);
    }
    return true;
}

// The wire: the base64 body (its prefix already cut), then the HMAC of the text with the
// prefix put back, when the secret has one. `out` has room for both.
Reject put_wire(FkoKeyContext &kc, std::string_view body, std::span<char> out) {
    std::memcpy(out.data(), body.data(), body.size());
    const size_t mac_len = kc.hmac_b64_len();
    if (mac_len == 0) return Reject::ok;
    std::array<uint8_t, kMaxHashLen> mac;
    if (!kc.hmac(kc.prefix(), body, mac.data())) return Reject::crypto_error;
    b64_encode({mac.data(), hmac_raw_len(kc.hmac_type())}, out.subspan(body.size(), mac_len));
    return Reject::ok;
}

}  // namespace

Reject fko_seal(FkoKeyContext &kc, std::span<const uint8_t> plaintext, std::span<char> out,
                size_t &out_len, const std::array<uint8_t, kSaltLen> *salt, bool pad) {
    if (kc.gpg()) return Reject::bad_secret;  // GPG mode: fko_wrap_gpg
    const size_t head = kSalted.size() + kSaltLen;
    const size_t pad_len = pad ? kAesBlock - plaintext.size() % kAesBlock : 0;
    const size_t ct_len = plaintext.size() + pad_len;
    if (ct_len % kAesBlock != 0) return Reject::bad_length;
    if (ct_len > kMaxPlainBuf) return Reject::too_long;

    std::array<uint8_t, kMaxPlainBuf + kAesBlock> padded;
    std::memcpy(padded.data(), plaintext.data(), plaintext.size());
    std::memset(padded.data() + plaintext.size(), static_cast<int>(pad_len), pad_len);

    std::array<uint8_t, kMaxPlainBuf + 32> raw;
    std::memcpy(raw.data(), kSalted.data(), kSalted.size());
    if (salt)
        std::memcpy(raw.data() + kSalted.size(), salt->data(), kSaltLen);
    else if (RAND_bytes(raw.data() + kSalted.size(), kSaltLen) != 1)
        return Reject::crypto_error;

    std::array<uint8_t, 32> key;
    std::array<uint8_t, 16> iv;
    const bool ok = kc.derive(raw.data() + kSalted.size(), key.data(), iv.data()) &&
                    kc.crypt(true, key.data(), iv.data(), padded.data(), ct_len, raw.data() + head);
    OPENSSL_cleanse(key.data(), key.size());
    OPENSSL_cleanse(padded.data(), padded.size());
    if (!ok) return Reject::crypto_error;

    const size_t raw_len = head + ct_len;
    const size_t text_len = b64_encoded_len(raw_len);
    const size_t mac_len = kc.hmac_b64_len();
    const size_t wire_len = text_len - kPrefix.size() + mac_len;
    if (wire_len > kMaxWire) return Reject::too_long;
    if (out.size() < wire_len) return Reject::buffer_too_small;

    std::array<char, b64_encoded_len(kMaxPlainBuf + 32)> text;
    b64_encode({raw.data(), raw_len}, text);
    std::string_view body(text.data() + kPrefix.size(), text_len - kPrefix.size());
    if (Reject r = put_wire(kc, body, out); r != Reject::ok) return r;
    out_len = wire_len;
    return Reject::ok;
}

Reject fko_encode_plaintext(FkoKeyContext &kc, const FkoRequest &req, std::span<char> out,
                            size_t &out_len) {
    std::array<char, kRandLen> rand;
    if (req.rand)
        rand = *req.rand;
    else if (!random_digits(rand))
        return Reject::crypto_error;

    const bool nat = msg_has_nat(req.type), timeout = msg_has_timeout(req.type);
    if (static_cast<uint8_t>(req.type) > 6) return Reject::bad_message_type;
    if (req.timestamp < 0) return Reject::bad_timestamp;
    if (timeout && req.client_timeout > kMaxClientTimeout) return Reject::bad_client_timeout;

    Writer w{out.data(), out.size()};
    char num[24];
    w.put({rand.data(), rand.size()});
    w.put(":");
    w.put_b64(req.user);
    w.put(":");
    w.put({num, static_cast<size_t>(std::snprintf(num, sizeof num, "%lld",
                                                  static_cast<long long>(req.timestamp)))});
    w.put(":");
    w.put(req.version);
    w.put(":");
    w.put({num, static_cast<size_t>(
                    std::snprintf(num, sizeof num, "%u", static_cast<unsigned>(req.type)))});
    w.put(":");
    w.put_b64(req.message);
    if (nat) {
        w.put(":");
        w.put_b64(req.nat_access);
    }
    if (!req.server_auth.empty()) {
        w.put(":");
        w.put_b64(req.server_auth);
    }
    if (timeout) {
        w.put(":");
        w.put({num, static_cast<size_t>(std::snprintf(num, sizeof num, "%u", req.client_timeout))});
    }

    std::array<uint8_t, kMaxHashLen> dg;
    std::array<char, b64_len_of(kMaxHashLen)> dg_b64;
    if (!w.ok) return Reject::too_long;
    if (!kc.digest(req.digest, w.view(), dg.data())) return Reject::crypto_error;
    const size_t dn = b64_encode({dg.data(), digest_raw_len(req.digest)}, dg_b64);
    w.put(":");
    w.put({dg_b64.data(), dn});
    if (!w.ok) return Reject::too_long;

    // Refuse to build what a receiver (us) would refuse.
    FkoMessage check;
    if (Reject r = fko_parse_plaintext(kc, w.view(), check); r != Reject::ok) return r;
    out_len = w.len;
    return Reject::ok;
}

Reject fko_encode(FkoKeyContext &kc, const FkoRequest &req, std::span<char> out, size_t &out_len) {
    std::array<char, kMaxPlainBuf> buf;
    size_t len = 0;
    Reject r = fko_encode_plaintext(kc, req, buf, len);
    if (r == Reject::ok)
        r = fko_seal(kc, {reinterpret_cast<const uint8_t *>(buf.data()), len}, out, out_len,
                     req.salt);
    OPENSSL_cleanse(buf.data(), buf.size());
    return r;
}

Reject fko_wrap_gpg(FkoKeyContext &kc, std::span<const uint8_t> message, std::span<char> out,
                    size_t &out_len) {
    const size_t text_len = b64_encoded_len(message.size());
    if (!kc.gpg() || message.size() > kMaxWire) return Reject::bad_secret;
    std::array<char, b64_encoded_len(kMaxWire)> text;
    b64_encode(message, text);
    std::string_view t(text.data(), text_len);
    if (!t.starts_with(kGpgPrefix)) return Reject::bad_prefix;  // not to an RSA key
    std::string_view body = t.substr(kGpgPrefix.size());
    const size_t mac_len = kc.hmac_b64_len();
    if (body.size() + mac_len > kMaxWire) return Reject::too_long;
    if (out.size() < body.size() + mac_len) return Reject::buffer_too_small;
    if (Reject r = put_wire(kc, body, out); r != Reject::ok) return r;
    out_len = body.size() + mac_len;
    return Reject::ok;
}

Reject fko_knock(const FkoSecret &secret, const FkoRequest &req, std::vector<uint8_t> &payload,
                 std::string &error) {
    auto ctx = FkoKeyContext::create(secret, error);
    if (!ctx) return Reject::crypto_error;
    std::string out(kMaxEncoded, '\0');
    size_t n = 0;
    Reject r = fko_encode(*ctx, req, out, n);
    if (r == Reject::ok) payload.assign(out.begin(), out.begin() + static_cast<long>(n));
    return r;
}

}  // namespace xk::spa
