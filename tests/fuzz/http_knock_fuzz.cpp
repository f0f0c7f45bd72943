// libFuzzer target: spa::parse_http_knock, which reads the requests XDP copies from any
// client that reaches an http knock port. On every input: no read outside it (ASan), and an
// accepted request's SPA is exactly its path after "GET /", up to the first space, with
// '-' and '_' turned into '+' and '/'; an X-Forwarded-For address only where the header is.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "spa/http_knock.hpp"

namespace {

[[noreturn]] void violated(const char *what) {
    std::fprintf(stderr, "http_knock_fuzz: %s\n", what);
    std::abort();
}

bool space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool has_header_ci(std::string_view text, std::string_view name) {
    for (size_t i = 0; i + name.size() <= text.size(); ++i) {
        size_t k = 0;
        while (k < name.size() && std::tolower(static_cast<unsigned char>(text[i + k])) == name[k])
            ++k;
        if (k == name.size()) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::vector<uint8_t> spa(size);
    xk::spa::HttpKnock k;
    if (!xk::spa::parse_http_knock({data, size}, spa, k)) return 0;
    if (size < 5 || std::memcmp(data, "GET /", 5) != 0) violated("accepted without GET /");
    if (k.spa_len == 0 || k.spa_len + 5 >= size) violated("SPA empty or without its end");
    for (size_t i = 0; i < k.spa_len; ++i) {
        const uint8_t in = data[5 + i], want = in == '-' ? '+' : in == '_' ? '/' : in;
        if (space(in) || spa[i] != want) violated("SPA is not the path, translated");
    }
    if (!space(data[5 + k.spa_len])) violated("the path did not end at a space");
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    if (k.forwarded && !has_header_ci(text, "\nx-forwarded-for:"))
        violated("an address without an X-Forwarded-For header");
    return 0;
}
