#include "policy/config_json.hpp"

#include <algorithm>

#include "spa/base64.hpp"

namespace xk::policy::config_json {
namespace {

// nlohmann's own words after "syntax error while parsing <context> - ", cut before
// "; last read: '...'": the only part of its message that quotes the input.
std::string parse_error_detail(std::string_view what) {
    const size_t at = what.find("syntax error while parsing ");
    const size_t dash = at == std::string_view::npos ? at : what.find(" - ", at);
    if (dash == std::string_view::npos) return "";
    what.remove_prefix(dash + 3);
    return std::string(what.substr(0, what.find("; last read: ")));
}

}  // namespace

TextPosition text_position(std::string_view text, size_t offset) {
    TextPosition p;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n' || (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) {
            ++p.line;
            p.column = 1;
        } else if (c != '\r' && (c & 0xC0) != 0x80) {  // a "\r\n" ends at its '\n'
            ++p.column;
        }
    }
    return p;
}

json parse_json(std::string_view text, const std::string &what) {
    try {
        return json::parse(text);
    } catch (const json::parse_error &e) {
        // e.byte counts from 1 and names the last byte read: the one that broke the syntax.
        const TextPosition p = text_position(text, e.byte == 0 ? 0 : e.byte - 1);
        const std::string detail = parse_error_detail(e.what());
        throw ConfigError(what + ": JSON syntax error at line " + std::to_string(p.line) +
                          ", column " + std::to_string(p.column) +
                          (detail.empty() ? "" : ": " + detail));
    } catch (const json::out_of_range &) {  // a number no C++ type holds, e.g. 1e999
        throw ConfigError(what + ": JSON number out of range");
    }
}

[[noreturn]] void fail(const std::string &path, const std::string &problem) {
    throw ConfigError(path + ": " + problem);
}

void only_keys(const json &obj, const std::string &path, std::span<const char *const> keys) {
    if (!obj.is_object()) fail(path, "must be an object");
    for (const auto &item : obj.items()) {
        const std::string &k = item.key();  // not a structured binding: clang 14 (fuzz build)
        if (std::none_of(keys.begin(), keys.end(), [&](const char *x) { return k == x; })) {
            fail(path + "." + k, "unknown key");
        }
    }
}

std::string get_string(const json &obj, const std::string &path, const char *key,
                       const std::string &fallback, bool required) {
    if (!obj.contains(key)) {
        if (required) fail(path + "." + key, "missing");
        return fallback;
    }
    const json &v = obj.at(key);
    if (!v.is_string() || v.get<std::string>().empty()) {
        fail(path + "." + key, "must be a non-empty string");
    }
    return v.get<std::string>();
}

uint64_t get_uint(const json &obj, const std::string &path, const char *key, uint64_t fallback,
                  uint64_t lo, uint64_t hi) {
    if (!obj.contains(key)) return fallback;
    const json &v = obj.at(key);
    if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi) {
        fail(path + "." + key,
             "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v.get<uint64_t>();
}

bool get_bool(const json &obj, const std::string &path, const char *key, bool fallback) {
    if (!obj.contains(key)) return fallback;
    if (!obj.at(key).is_boolean()) fail(path + "." + key, "must be true or false");
    return obj.at(key).get<bool>();
}

const json &get_array(const json &obj, const std::string &path, const char *key, bool required) {
    static const json empty = json::array();
    if (!obj.contains(key)) {
        if (required) fail(path + "." + key, "missing");
        return empty;
    }
    if (!obj.at(key).is_array()) fail(path + "." + key, "must be an array");
    return obj.at(key);
}

std::vector<uint8_t> decode_base64(const std::string &text, const std::string &path) {
    std::vector<uint8_t> out(spa::b64_decoded_max(text.size()) + 3);
    size_t n = 0;
    if (!spa::b64_decode(text, out, n)) fail(path, "is not valid base64");
    out.resize(n);
    return out;
}

std::vector<uint8_t> secret_bytes(const json &obj, const std::string &path, const char *text_key,
                                  const char *b64_key, bool required) {
    bool has_text = obj.contains(text_key), has_b64 = obj.contains(b64_key);
    if (has_text && has_b64) fail(path, std::string("give either ") + text_key + " or " + b64_key);
    if (has_text) {
        std::string s = get_string(obj, path, text_key, "");
        return {s.begin(), s.end()};
    }
    if (has_b64) {
        auto bytes = decode_base64(get_string(obj, path, b64_key, ""), path + "." + b64_key);
        if (bytes.empty()) fail(path + "." + b64_key, "decodes to nothing");
        return bytes;
    }
    if (required) fail(path + "." + text_key, "missing (or " + std::string(b64_key) + ")");
    return {};
}

bool one_of(const std::string &v, std::initializer_list<const char *> names) {
    return std::any_of(names.begin(), names.end(), [&](const char *n) { return v == n; });
}

}  // namespace xk::policy::config_json
