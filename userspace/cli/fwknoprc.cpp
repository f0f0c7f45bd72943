#include "cli/fwknoprc.hpp"

#include <arpa/inet.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <sstream>

#include "cli/import_fwknop.hpp"

namespace xk::cli {
namespace {

struct Var {
    std::string value;
    int line;
};
using Stanza = std::map<std::string, Var>;

std::string upper(std::string s) {
    for (char &c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string lower(std::string s) {
    for (char &c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Every stanza of the file, keywords upper-cased; a value is the rest of its line.
std::map<std::string, Stanza> read_stanzas(const std::string &text, const std::string &file) {
    std::map<std::string, Stanza> out;
    Stanza *current = nullptr;
    std::istringstream in(text);
    std::string raw;
    for (int n = 1; std::getline(in, raw); ++n) {
        auto error = [&](const std::string &problem) {
            return policy::ConfigError(file + ":" + std::to_string(n) + ": " + problem);
        };
        std::string line = trim(raw);
        if (line.empty() || line[0] == '#') continue;
        if (line.front() == '[') {
            if (line.back() != ']') throw error("a stanza name needs its closing ']'");
            current = &out[trim(line.substr(1, line.size() - 2))];
            continue;
        }
        size_t split = line.find_first_of(" \t");
        std::string keyword = upper(line.substr(0, split));
        if (!keyword.empty() && keyword.back() == ':') keyword.pop_back();
        std::string value = split == std::string::npos ? "" : trim(line.substr(split));
        if (!current) throw error(keyword + " is outside any [stanza]");
        if (value.empty()) throw error(keyword + " has no value");
        if (!current->emplace(keyword, Var{value, n}).second)
            throw error(keyword + " is given twice in this stanza");
    }
    return out;
}

bool yes(const std::string &keyword, const Var &v, const std::string &file) {
    std::string s = lower(v.value);
    if (s == "y" || s == "yes") return true;
    if (s == "n" || s == "no") return false;
    throw policy::ConfigError(file + ":" + std::to_string(v.line) + ": " + keyword +
                              " must be Y or N");
}

// Keywords that change nothing in the knock xdpknock sends (IP resolution, GPG tools, …).
const char *const kIgnored[] = {"VERBOSE",
                                "RESOLVE_URL",
                                "RESOLVE_HTTP_ONLY",
                                "HTTP_USER_AGENT",
                                "USE_WGET_USER_AGENT",
                                "WGET_CMD",
                                "GPG_HOMEDIR",
                                "GPG_EXE",
                                "GPG_SIGNER",
                                "GPG_RECIPIENT",
                                "GPG_SIGNING_PW",
                                "GPG_SIGNING_PW_BASE64",
                                "USE_GPG_AGENT",
                                "SPA_SOURCE_PORT"};
// Keywords that, set to Y, ask for a knock xdpknock does not make.
const char *const kRefusedIfYes[] = {"USE_GPG", "RAND_PORT", "NAT_LOCAL", "NAT_RAND_PORT",
                                     "RESOLVE_IP_HTTPS"};
// Keywords xdpknock does not make a knock from, whatever their value.
const char *const kRefused[] = {"NAT_ACCESS", "NAT_PORT",      "SPOOF_SOURCE_IP",
                                "KEY_FILE",   "HMAC_KEY_FILE", "TIME_OFFSET"};
const char *const kKeyLines[] = {
    "KEY", "KEY_BASE64", "HMAC_KEY", "HMAC_KEY_BASE64", "HMAC_DIGEST_TYPE", "ENCRYPTION_MODE"};

template <size_t N>
bool listed(const char *const (&table)[N], const std::string &keyword) {
    return std::any_of(std::begin(table), std::end(table),
                       [&](const char *k) { return keyword == k; });
}

uint32_t number(const std::string &where, const std::string &keyword, const std::string &text,
                uint32_t max) {
    char *end = nullptr;
    unsigned long v = text.empty() || !isdigit(static_cast<unsigned char>(text[0]))
                          ? 0
                          : strtoul(text.c_str(), &end, 10);
    if (!end || *end || v < 1 || v > max)
        throw policy::ConfigError(where + ": " + keyword + " must be a number from 1 to " +
                                  std::to_string(max));
    return static_cast<uint32_t>(v);
}

// One settings keyword into s; false if it is not one.
bool apply_setting(RcSettings &s, const std::string &keyword, const std::string &v,
                   const std::string &where) {
    if (keyword == "SPA_SERVER") {
        s.server = v;
    } else if (keyword == "SPA_SERVER_PORT") {
        s.port = static_cast<uint16_t>(number(where, keyword, v, 65535));
    } else if (keyword == "SPA_SERVER_PROTO") {
        if (lower(v) != "udp")
            throw policy::ConfigError(where + ": SPA_SERVER_PROTO " + v +
                                      ": xdpknock send knocks over udp only");
    } else if (keyword == "ALLOW_IP") {
        in_addr a{};
        if (lower(v) == "source") {
            s.allow_source = true;
        } else if (inet_pton(AF_INET, v.c_str(), &a) == 1) {
            s.allow_ip = v;
        } else {
            throw policy::ConfigError(where + ": ALLOW_IP " + v +
                                      ": give an IPv4 address or 'source' (no 'resolve')");
        }
    } else if (keyword == "ACCESS") {
        std::vector<std::string> list;
        std::istringstream parts(v);
        for (std::string p; std::getline(parts, p, ',');)
            if (!trim(p).empty()) list.push_back(lower(trim(p)));
        s.access = list;
    } else if (keyword == "SPOOF_USER") {
        s.user = v;
    } else if (keyword == "DIGEST_TYPE") {
        s.digest = lower(v);
    } else if (keyword == "FW_TIMEOUT" || keyword == "CLIENT_TIMEOUT") {
        s.client_timeout = number(where, keyword, v, 0xffffffffu);
    } else {
        return false;
    }
    return true;
}

// The stanza's key lines as a key file at their own line numbers, so parse_key_file's
// errors point into the rc file. USE_HMAC N drops the HMAC key, as fwknop does.
policy::Secret secret_of(const Stanza &st, const std::string &file, const std::string &name) {
    auto use = st.find("USE_HMAC");
    bool hmac = use == st.end() || yes("USE_HMAC", use->second, file);
    std::vector<std::string> lines;
    for (const auto &[keyword, var] : st) {
        if (!listed(kKeyLines, keyword) || (!hmac && keyword.rfind("HMAC_", 0) == 0)) continue;
        if (lines.size() < static_cast<size_t>(var.line)) lines.resize(var.line);
        lines[var.line - 1] = keyword + " " + var.value;
    }
    if (use != st.end() && hmac && !st.count("HMAC_KEY") && !st.count("HMAC_KEY_BASE64"))
        throw policy::ConfigError(file + ": [" + name +
                                  "]: USE_HMAC Y but no HMAC_KEY or HMAC_KEY_BASE64");
    std::string text;
    for (const auto &l : lines) text += l + "\n";
    policy::Secret s = parse_key_file(text, file);
    s.label = name;
    return s;
}

}  // namespace

RcSettings parse_fwknoprc(const std::string &text, const std::string &file,
                          const std::string &name) {
    auto stanzas = read_stanzas(text, file);
    auto named = stanzas.find(name);
    if (named == stanzas.end()) throw policy::ConfigError(file + ": no stanza [" + name + "]");
    Stanza merged = stanzas["default"];
    for (const auto &[k, v] : named->second) merged[k] = v;

    RcSettings s;
    bool has_key = false;
    for (const auto &[keyword, var] : merged) {
        std::string where = file + ":" + std::to_string(var.line);
        if (apply_setting(s, keyword, var.value, where) || listed(kIgnored, keyword) ||
            keyword == "USE_HMAC")
            continue;
        if (listed(kKeyLines, keyword)) {
            has_key = true;
        } else if (listed(kRefusedIfYes, keyword)) {
            if (yes(keyword, var, file))
                throw policy::ConfigError(where + ": " + keyword + " Y is not supported");
        } else if (listed(kRefused, keyword)) {
            throw policy::ConfigError(where + ": " + keyword + " is not supported");
        } else {
            throw policy::ConfigError(where + ": unknown keyword " + keyword);
        }
    }
    if (has_key) s.secret = secret_of(merged, file, name);
    return s;
}

std::string default_fwknoprc_path() {
    const char *home = getenv("HOME");
    if (!home || !*home) {
        const passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    return std::string(home) + "/.fwknoprc";
}

}  // namespace xk::cli
