// fko enumerations and the typed, heap-free result of a decode.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace xk::spa {

// Values are fwknop's on-the-wire / API numbers so logs and libfko agree.
enum class Mode : uint8_t { ecb = 1, cbc = 2, cfb = 3, ofb = 5, ctr = 6, legacy = 8 };
enum class HmacType : uint8_t {
    none = 0,
    md5 = 1,
    sha1 = 2,
    sha256 = 3,
    sha384 = 4,
    sha512 = 5,
    sha3_256 = 6,
    sha3_512 = 7
};
enum class DigestType : uint8_t {
    md5 = 1,
    sha1 = 2,
    sha256 = 3,
    sha384 = 4,
    sha512 = 5,
    sha3_256 = 6,
    sha3_512 = 7
};
enum class MsgType : uint8_t {
    command = 0,
    access = 1,
    nat_access = 2,
    client_timeout_access = 3,
    client_timeout_nat_access = 4,
    local_nat_access = 5,
    client_timeout_local_nat_access = 6
};

std::optional<Mode> parse_mode(std::string_view s);  // "cbc", "ecb", "cfb", "ofb", "ctr", "legacy"
std::optional<HmacType> parse_hmac_type(std::string_view s);  // "none", "md5", ... "sha3_512"
std::optional<DigestType> parse_digest_type(std::string_view s);
const char *mode_name(Mode m);
const char *hmac_name(HmacType h);
const char *digest_name(DigestType d);

// Raw and base64 (unpadded) sizes of a hash output.
size_t digest_raw_len(DigestType d);
size_t hmac_raw_len(HmacType h);  // 0 for none
constexpr size_t b64_len_of(size_t raw) {
    return (raw * 4 + 2) / 3;
}

constexpr bool msg_has_nat(MsgType t) {
    return t == MsgType::nat_access || t == MsgType::client_timeout_nat_access ||
           t == MsgType::local_nat_access || t == MsgType::client_timeout_local_nat_access;
}
constexpr bool msg_has_timeout(MsgType t) {
    return t == MsgType::client_timeout_access || t == MsgType::client_timeout_nat_access ||
           t == MsgType::client_timeout_local_nat_access;
}
constexpr bool msg_is_local_nat(MsgType t) {
    return t == MsgType::local_nat_access || t == MsgType::client_timeout_local_nat_access;
}

// Limits from FKO-WIRE.md.
inline constexpr size_t kMinWire = 140;  // fwknopd's floor for a Rijndael payload
inline constexpr size_t kMaxWire = 1500;
// GPG mode: fwknop calls a payload of 400 characters or more GPG, and cuts the "hQ" that
// base64 of an OpenPGP message to an RSA key starts with (a public-key packet, 2-byte length).
inline constexpr size_t kGpgMinWire = 400;
inline constexpr std::string_view kGpgPrefix = "hQ";
inline constexpr size_t kMinPlaintext = 36;
inline constexpr size_t kMaxPlaintext = 1499;  // [36, 1500)
inline constexpr size_t kRandLen = 16;
inline constexpr size_t kMaxUserEncoded = 64;
inline constexpr size_t kMaxVersion = 8;
inline constexpr size_t kMaxTimestampDigits = 12;  // fwknop MAX_SPA_TIMESTAMP_SIZE
inline constexpr int64_t kMaxTimestamp = INT32_MAX;
inline constexpr size_t kMaxFieldEncoded = 256;  // message, nat_access, server_auth, timeout
inline constexpr size_t kMaxFieldDecoded = kMaxFieldEncoded * 3 / 4;
inline constexpr uint32_t kMaxClientTimeout = 65536;
inline constexpr size_t kMaxAccessPorts = 128;
inline constexpr size_t kMaxNatHost = 253;

// A string kept inline; `len` bytes of `data` are valid (no NUL terminator kept).
template <size_t N>
struct InlineString {
    uint16_t len = 0;
    std::array<char, N> data;
    std::string_view view() const { return {data.data(), len}; }
};

enum class Proto : uint8_t { tcp = 6, udp = 17 };  // IANA numbers

struct PortSpec {
    Proto proto;
    uint16_t port;
    bool operator==(const PortSpec &) const = default;
};

struct FkoMessage {
    std::array<char, kRandLen> rand;
    InlineString<kMaxUserEncoded * 3 / 4> user;
    int64_t timestamp = 0;
    InlineString<kMaxVersion> version;
    MsgType type = MsgType::access;
    InlineString<kMaxFieldDecoded> message;  // decoded, e.g. "1.2.3.4,tcp/22"

    // Parsed message. allow_ip is in host byte order (1.2.3.4 == 0x01020304); 0 means
    // "the packet's source" (the client sent 0.0.0.0). An IPv6 allow-IP (beyond fwknop 2.6.10;
    // the bare form of fwknop's IPv6 branch, "2001:db8::7,tcp/22") is allow_ip6 instead, and
    // "::" means the packet's source likewise.
    uint32_t allow_ip = 0;
    bool has_allow_ip6 = false;
    std::array<uint8_t, 16> allow_ip6{};
    uint16_t port_count = 0;  // access types
    std::array<PortSpec, kMaxAccessPorts> ports;
    uint16_t command_offset = 0;  // command type: message.view().substr(command_offset)

    bool has_nat = false;
    InlineString<kMaxFieldDecoded> nat_access;  // decoded "host,port"
    uint16_t nat_host_len = 0;                  // host is nat_access.view().substr(0, nat_host_len)
    uint16_t nat_port = 0;

    bool has_server_auth = false;
    InlineString<kMaxFieldDecoded> server_auth;

    bool has_client_timeout = false;
    uint32_t client_timeout = 0;

    DigestType digest_type = DigestType::sha256;

    std::string_view rand_view() const { return {rand.data(), rand.size()}; }
    std::string_view command() const { return message.view().substr(command_offset); }
    std::string_view nat_host() const { return nat_access.view().substr(0, nat_host_len); }
    std::array<uint8_t, 4> allow_ip_bytes() const {
        return {uint8_t(allow_ip >> 24), uint8_t(allow_ip >> 16), uint8_t(allow_ip >> 8),
                uint8_t(allow_ip)};
    }
    // The allow-IP as the gate keys addresses (IPv6, or IPv4-mapped); false for 0.0.0.0 or ::.
    bool allow_address(std::array<uint8_t, 16> &out) const {
        if (has_allow_ip6) {
            out = allow_ip6;
            return out != std::array<uint8_t, 16>{};
        }
        const auto v4 = allow_ip_bytes();
        out = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]};
        return allow_ip != 0;
    }
};

}  // namespace xk::spa
