#pragma once
// The config parser's JSON access: every value read through these names its key path in
// the error, so a bad file says exactly where. Internal to policy/config*.cpp.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/config.hpp"

namespace xk::policy::config_json {

using nlohmann::json;

// Where a byte sits in a text, both 1-based. "\n", "\r\n" and a lone "\r" each end a line; the
// column counts characters (UTF-8 sequences once, a tab once). Past the end: just after it.
struct TextPosition {
    size_t line = 1, column = 1;
};
TextPosition text_position(std::string_view text, size_t offset);

// Parses a whole JSON document; a syntax error becomes a ConfigError such as
// "<what>: JSON syntax error at line 3, column 7: unexpected '}'" that never quotes the text
// (it may hold secrets).
json parse_json(std::string_view text, const std::string &what);

[[noreturn]] void fail(const std::string &path, const std::string &problem);
void only_keys(const json &obj, const std::string &path, std::span<const char *const> keys);
inline void only_keys(const json &obj, const std::string &path,
                      std::initializer_list<const char *> keys) {
    only_keys(obj, path, std::span<const char *const>(keys.begin(), keys.size()));
}
std::string get_string(const json &obj, const std::string &path, const char *key,
                       const std::string &fallback, bool required = false);
uint64_t get_uint(const json &obj, const std::string &path, const char *key, uint64_t fallback,
                  uint64_t lo, uint64_t hi);
bool get_bool(const json &obj, const std::string &path, const char *key, bool fallback);
const json &get_array(const json &obj, const std::string &path, const char *key, bool required);
std::vector<uint8_t> decode_base64(const std::string &text, const std::string &path);
std::vector<uint8_t> secret_bytes(const json &obj, const std::string &path, const char *text_key,
                                  const char *b64_key, bool required);
bool one_of(const std::string &v, std::initializer_list<const char *> names);

}  // namespace xk::policy::config_json
