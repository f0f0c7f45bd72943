#include "gen/fwknopd_access.hpp"

#include "spa/fko_types.hpp"

namespace xk::gen {
namespace {

// Padded base64: fwknopd's KEY_BASE64 parser wants whole quanta.
std::string padded_base64(const std::vector<uint8_t> &in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < in.size(); i += 3) {
        uint32_t v = uint32_t(in[i]) << 16;
        if (i + 1 < in.size()) v |= uint32_t(in[i + 1]) << 8;
        if (i + 2 < in.size()) v |= in[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
        out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
    }
    return out;
}

std::string line(const char *key, const std::string &value) {
    std::string l = key;
    l.resize(24, ' ');
    return l + value + "\n";
}

}  // namespace

std::string fwknopd_access_stanza(const policy::Config &config, const policy::Range &range,
                                  const policy::Secret &secret) {
    const spa::FkoSecret &s = secret.fko;
    std::string out = "# xdpknock range " + range.name + ", secret " + secret.label + "\n";
    out += line("SOURCE", "ANY");
    out += line("KEY_BASE64", padded_base64(s.key));
    if (s.hmac != spa::HmacType::none) {
        out += line("HMAC_KEY_BASE64", padded_base64(s.hmac_key));
        out += line("HMAC_DIGEST_TYPE", spa::hmac_name(s.hmac));
    }
    out += line("ENCRYPTION_MODE", spa::mode_name(s.mode));
    std::string ports;
    for (const auto &p : range.open) {
        // "*" opens every protected service; fwknopd has no wildcard, so list them.
        if (p.proto == 0) {
            for (const auto &svc : config.services) {
                ports += (ports.empty() ? "" : ", ") + policy::format_port(svc.port);
            }
        } else {
            ports += (ports.empty() ? "" : ", ") + policy::format_port(p);
        }
    }
    if (!ports.empty()) out += line("OPEN_PORTS", ports);
    out += line("FW_ACCESS_TIMEOUT", std::to_string(range.timeout_s));
    if (range.proof_ip) out += line("REQUIRE_SOURCE_ADDRESS", "Y");
    return out;
}

}  // namespace xk::gen
