// Writes the seed corpora of the frame, config and import fuzzers at build time, from what the
// repository already holds: the BPF test catalogue, fwknop's captures, the test fixtures'
// string literals and example files. Nothing binary is committed. A kind that yields no seed
// fails the build step: an empty corpus is no corpus.
//
//   fuzz_seeds frames  DIR [PCAP...]       one seed per frame: a mode byte (fuzz_frame.hpp), then
//                                          the frame; Ethernet frames also go raw-IP if they are IP
//   fuzz_seeds strings DIR FILTER SRC...   each string literal of the C++ sources (raw or not);
//                                          FILTER json: only those that start with { or [;
//                                          text: only multi-line ones
//   fuzz_seeds files   DIR FILE...         each file as it is
//   fuzz_seeds pairs   DIR A... -- B...    each A, NUL, each B (import_fwknop's two files); a .cpp
//                                          stands for its multi-line string literals
//   fuzz_seeds catalog DIR                 the BPF catalogue world's config
//   fuzz_seeds dict    OUT SRC...          a libFuzzer dictionary: the "json_keys" the sources name
//   fuzz_seeds words   OUT SRC...          ... the KEYWORDS (and words) they name, bare
#include <linux/if_ether.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../bpf/catalog_world.hpp"
#include "../bpf/gate_frames.hpp"
#include "fuzz_frame.hpp"

namespace {

using xk::test::Bytes;

int written = 0;

bool writeSeed(const std::string &dir, const std::string &body) {
    const std::string path = dir + "/seed-" + std::to_string(written++);
    std::ofstream f(path, std::ios::binary);
    f << body;
    f.close();
    if (!f) std::fprintf(stderr, "fuzz_seeds: cannot write %s\n", path.c_str());
    return static_cast<bool>(f);
}

bool writeFrame(const std::string &dir, uint8_t mode, const Bytes &frame) {
    std::string body(1, static_cast<char>(mode));
    body.append(frame.begin(), frame.end());
    return writeSeed(dir, body);
}

std::string readFile(const std::string &path, bool &ok) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    ok = static_cast<bool>(f) || f.eof();
    if (!ok) std::fprintf(stderr, "fuzz_seeds: cannot read %s\n", path.c_str());
    return s.str();
}

// The frames of a classic pcap file (Ethernet link type only: what the gate sees).
std::vector<Bytes> pcapFrames(const std::string &path) {
    bool ok = false;
    const std::string s = readFile(path, ok);
    std::vector<Bytes> out;
    if (s.size() < 24) return out;
    uint32_t magic = 0, link = 0;
    std::memcpy(&magic, s.data(), 4);
    std::memcpy(&link, s.data() + 20, 4);
    if ((magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) || link != 1) return out;  // host order
    for (size_t at = 24; at + 16 <= s.size();) {
        uint32_t caplen = 0;
        std::memcpy(&caplen, s.data() + at + 8, 4);
        at += 16;
        if (caplen > s.size() - at) break;
        out.emplace_back(s.begin() + long(at), s.begin() + long(at + caplen));
        at += caplen;
    }
    return out;
}

bool isIpFrame(const Bytes &f) {
    if (f.size() <= ETH_HLEN) return false;
    const unsigned type = unsigned(f[12] << 8 | f[13]);
    return type == ETH_P_IP || type == ETH_P_IPV6;
}

int frames(const std::string &dir, const std::vector<std::string> &pcaps) {
    int n = 0;
    for (const auto &c : xk::test::gateCases())
        n += writeFrame(dir, xk::fuzz::kModeEthernet, c.frame);
    for (const auto &c : xk::test::rawIpCases())
        n += writeFrame(dir, xk::fuzz::kModeRawIp, c.frame);
    for (const auto &p : pcaps) {
        const auto got = pcapFrames(p);
        if (got.empty()) {
            std::fprintf(stderr, "fuzz_seeds: no Ethernet frames in %s\n", p.c_str());
            return 1;
        }
        for (const Bytes &f : got) {
            n += writeFrame(dir, xk::fuzz::kModeEthernet, f);
            if (isIpFrame(f))
                n += writeFrame(dir, xk::fuzz::kModeRawIp, Bytes(f.begin() + ETH_HLEN, f.end()));
        }
    }
    return n > 0 ? 0 : 1;
}

// A C++ escape sequence at s[i] (after the backslash); the simple ones only.
char unescape(char c) {
    switch (c) {
        case 'n':
            return '\n';
        case 't':
            return '\t';
        case 'r':
            return '\r';
        case '0':
            return '\0';
        default:
            return c;
    }
}

// Every string literal in C++ source text: R"delim(...)delim" and "..." (adjacent ordinary
// literals are joined, as the compiler does). Comments and char literals are skipped.
std::vector<std::string> literals(const std::string &s) {
    std::vector<std::string> out;
    bool joining = false;  // the last token was an ordinary literal
    for (size_t i = 0; i < s.size(); ++i) {
        if (s.compare(i, 2, "//") == 0) {
            i = s.find('\n', i);
            if (i == std::string::npos) break;
            continue;
        }
        if (s[i] == '\'') {
            i = s.find('\'', i + (s[i + 1] == '\\' ? 3 : 2));
            if (i == std::string::npos) break;
            continue;
        }
        if (s.compare(i, 2, "R\"") == 0) {
            const size_t open = s.find('(', i + 2);
            if (open == std::string::npos) break;
            const std::string end = ")" + s.substr(i + 2, open - i - 2) + "\"";
            const size_t close = s.find(end, open);
            if (close == std::string::npos) break;
            out.push_back(s.substr(open + 1, close - open - 1));
            i = close + end.size() - 1;
            joining = false;
            continue;
        }
        if (s[i] == '"') {
            std::string lit;
            for (++i; i < s.size() && s[i] != '"'; ++i)
                lit += s[i] == '\\' ? unescape(s[++i]) : s[i];
            if (joining) {
                out.back() += lit;
            } else {
                out.push_back(lit);
            }
            joining = true;
            continue;
        }
        if (!std::isspace(static_cast<unsigned char>(s[i]))) joining = false;
    }
    return out;
}

bool keep(const std::string &lit, const std::string &filter) {
    if (filter == "json") {
        const size_t at = lit.find_first_not_of(" \t\r\n");
        return at != std::string::npos && (lit[at] == '{' || lit[at] == '[');
    }
    return lit.find('\n') != std::string::npos;
}

int strings(const std::string &dir, const std::string &filter,
            const std::vector<std::string> &srcs) {
    std::set<std::string> seen;
    for (const auto &src : srcs) {
        bool ok = false;
        const std::string text = readFile(src, ok);
        if (!ok) return 1;
        for (const auto &lit : literals(text))
            if (keep(lit, filter) && seen.insert(lit).second && !writeSeed(dir, lit)) return 1;
    }
    if (seen.empty()) std::fprintf(stderr, "fuzz_seeds: no %s literals\n", filter.c_str());
    return seen.empty() ? 1 : 0;
}

int files(const std::string &dir, const std::vector<std::string> &paths) {
    for (const auto &p : paths) {
        bool ok = false;
        const std::string text = readFile(p, ok);
        if (!ok || text.empty() || !writeSeed(dir, text)) return 1;
    }
    return paths.empty() ? 1 : 0;
}

// A file's text, or for C++ source its multi-line string literals.
bool texts(const std::string &path, std::vector<std::string> &out) {
    bool ok = false;
    const std::string text = readFile(path, ok);
    if (path.size() < 4 || path.compare(path.size() - 4, 4, ".cpp") != 0) {
        out.push_back(text);
        return ok;
    }
    for (const auto &lit : literals(text))
        if (keep(lit, "text")) out.push_back(lit);
    return ok;
}

int pairs(const std::string &dir, const std::vector<std::string> &args) {
    std::vector<std::string> a, b;
    bool second = false;
    for (const auto &x : args) {
        if (x == "--") {
            second = true;
        } else if (!texts(x, second ? b : a)) {
            return 1;
        }
    }
    // fwknopd.conf texts end their lines with ';': the rest of a test's literals are not.
    std::erase_if(b, [](const std::string &y) { return y.find(";\n") == std::string::npos; });
    for (const auto &x : a)
        for (const auto &y : b)
            if (!writeSeed(dir, x + std::string(1, '\0') + y)) return 1;
    return a.empty() || b.empty() ? 1 : 0;
}

// Identifiers the sources name as string literals ("ranges", "proof_time", "KEY_BASE64"), as
// dictionary entries: JSON keys with their quotes, or bare words. The fuzzer then writes
// the keys the parser knows.
int dict(const std::string &out, const std::vector<std::string> &srcs, bool quoted) {
    const char *chars = quoted ? "abcdefghijklmnopqrstuvwxyz0123456789_"
                               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    std::set<std::string> keys;
    for (const auto &src : srcs) {
        bool ok = false;
        const std::string text = readFile(src, ok);
        if (!ok) return 1;
        for (const auto &lit : literals(text))
            if (lit.size() >= 2 && lit.size() <= 40 &&
                lit.find_first_not_of(chars) == std::string::npos)
                keys.insert(lit);
    }
    std::ofstream f(out);
    for (const auto &k : keys) f << (quoted ? "\"\\\"" + k + "\\\"\"" : "\"" + k + "\"") << "\n";
    f.close();
    return keys.empty() || !f ? 1 : 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: fuzz_seeds frames|strings|files|pairs|catalog|dict|words DIR ...\n");
        return 2;
    }
    const std::string kind = argv[1], dir = argv[2];
    std::vector<std::string> rest(argv + 3, argv + argc);
    if (kind == "frames") return frames(dir, rest);
    if (kind == "strings" && !rest.empty())
        return strings(dir, rest[0], std::vector<std::string>(rest.begin() + 1, rest.end()));
    if (kind == "files") return files(dir, rest);
    if (kind == "pairs") return pairs(dir, rest);
    if (kind == "catalog") return writeSeed(dir, xk::test::catalogConfigJson()) ? 0 : 1;
    if (kind == "dict" || kind == "words") return dict(dir, rest, kind == "dict");
    std::fprintf(stderr, "fuzz_seeds: unknown kind %s\n", kind.c_str());
    return 2;
}
