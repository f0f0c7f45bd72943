// fwknop -P http: the SPA travels as the path of "GET /<spa> HTTP/1.x" on a TCP connection
// to a web server, base64's '+' and '/' sent as '-' and '_'. Like fwknopd, a request counts
// only with a User-Agent starting "Fwknop", and may name the client behind a proxy in
// X-Forwarded-For (which the daemon honours only when told to).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace xk::spa {

struct HttpKnock {
    size_t spa_len = 0;                       // bytes of SPA written to the caller's buffer
    bool forwarded = false;                   // X-Forwarded-For held one IPv4 or IPv6 address
    std::array<uint8_t, 16> forwarded_for{};  // IPv6 or IPv4-mapped
};

// False when data is not an fwknop SPA request. spa_out must hold data.size() bytes; it gets
// the SPA with '-' and '_' turned back into '+' and '/'.
bool parse_http_knock(std::span<const uint8_t> data, std::span<uint8_t> spa_out, HttpKnock &out);

}  // namespace xk::spa
