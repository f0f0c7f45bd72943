#include "spa/fko_types.hpp"

namespace xk::spa {

namespace {

template <typename E>
struct Named {
    std::string_view name;
    E value;
};

constexpr Named<Mode> kModes[] = {{"cbc", Mode::cbc}, {"ecb", Mode::ecb}, {"cfb", Mode::cfb},
                                  {"ofb", Mode::ofb}, {"ctr", Mode::ctr}, {"legacy", Mode::legacy}};
constexpr Named<HmacType> kHmacs[] = {
    {"none", HmacType::none},         {"md5", HmacType::md5},          {"sha1", HmacType::sha1},
    {"sha256", HmacType::sha256},     {"sha384", HmacType::sha384},    {"sha512", HmacType::sha512},
    {"sha3_256", HmacType::sha3_256}, {"sha3_512", HmacType::sha3_512}};
constexpr Named<DigestType> kDigests[] = {
    {"md5", DigestType::md5},          {"sha1", DigestType::sha1},
    {"sha256", DigestType::sha256},    {"sha384", DigestType::sha384},
    {"sha512", DigestType::sha512},    {"sha3_256", DigestType::sha3_256},
    {"sha3_512", DigestType::sha3_512}};

template <typename E, size_t N>
std::optional<E> find_value(const Named<E> (&table)[N], std::string_view s) {
    for (const auto &e : table)
        if (e.name == s) return e.value;
    return std::nullopt;
}

template <typename E, size_t N>
const char *find_name(const Named<E> (&table)[N], E v) {
    for (const auto &e : table)
        if (e.value == v) return e.name.data();
    return "unknown";
}

}  // namespace

std::optional<Mode> parse_mode(std::string_view s) {
    return find_value(kModes, s);
}
std::optional<HmacType> parse_hmac_type(std::string_view s) {
    return find_value(kHmacs, s);
}
std::optional<DigestType> parse_digest_type(std::string_view s) {
    return find_value(kDigests, s);
}
const char *mode_name(Mode m) {
    return find_name(kModes, m);
}
const char *hmac_name(HmacType h) {
    return find_name(kHmacs, h);
}
const char *digest_name(DigestType d) {
    return find_name(kDigests, d);
}

size_t digest_raw_len(DigestType d) {
    switch (d) {
        case DigestType::md5:
            return 16;
        case DigestType::sha1:
            return 20;
        case DigestType::sha256:
        case DigestType::sha3_256:
            return 32;
        case DigestType::sha384:
            return 48;
        case DigestType::sha512:
        case DigestType::sha3_512:
            return 64;
    }
    return 0;
}

size_t hmac_raw_len(HmacType h) {
    return h == HmacType::none ? 0 : digest_raw_len(static_cast<DigestType>(h));
}

}  // namespace xk::spa
