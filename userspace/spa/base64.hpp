// Standard-alphabet base64 as fko uses it: no padding on output, input stops at the first '='.
// Writes into caller buffers; never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace xk::spa {

constexpr size_t b64_encoded_len(size_t n) {
    return (n * 4 + 2) / 3;
}
constexpr size_t b64_decoded_max(size_t chars) {
    return chars * 3 / 4;
}

// True for A-Z a-z 0-9 + /.
bool b64_is_alphabet(char c);
// True when every character is in the alphabet (no '=').
bool b64_all_alphabet(std::string_view s);

// Writes b64_encoded_len(in.size()) characters (no '=', no NUL). Returns that length, or 0
// when `out` is too small for a non-empty input.
size_t b64_encode(std::span<const uint8_t> in, std::span<char> out);

// Decodes up to the first '=' (the rest is ignored, as fwknop does). Fails on any other
// non-alphabet character, on a dangling single character (6 bits make no byte) or when `out`
// is too small. On success stores the byte count in `n`. `canonical` also refuses set bits in
// the unused tail of the last character, so one byte string has exactly one encoding.
bool b64_decode(std::string_view in, std::span<uint8_t> out, size_t &n, bool canonical = false);
// b64_decode of text known to hold no '=' (else it fails on the '=' as on any other
// non-alphabet character): the same result without the scan for '='.
bool b64_decode_unpadded(std::string_view in, std::span<uint8_t> out, size_t &n,
                         bool canonical = false);

}  // namespace xk::spa
