// Writes the fuzz target's seed corpus: packets from the real fwknop client and from our
// encoder (all keyed with fuzz_keys.hpp), their plaintext fields, and fwknop's KAT packets.
// Any source that yields nothing fails the build step: an empty seed is no seed.
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../unit/spa/fwknop_client.hpp"
#include "fuzz_keys.hpp"
#include "spa/fko_encode.hpp"

using namespace xk::spa;
using namespace xk::spa::fuzz;

namespace {

int written = 0;

// Writes one seed; false (said on stderr) if the body is empty or the file cannot be written.
bool seed(const std::string &dir, Input kind, const std::string &body, const char *what) {
    if (body.empty()) {
        std::fprintf(stderr, "fko_fuzz_seeds: %s gave nothing\n", what);
        return false;
    }
    const std::string path = dir + "/seed-" + std::to_string(written++);
    std::ofstream f(path, std::ios::binary);
    f.put(static_cast<char>(kind));
    f << body;
    f.close();
    if (!f) std::fprintf(stderr, "fko_fuzz_seeds: cannot write %s\n", path.c_str());
    return static_cast<bool>(f);
}

std::string joined(const std::vector<std::string> &args) {
    std::string s = "fwknop";
    for (const auto &a : args) s += " " + a;
    return s;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const std::string dir = argv[1], kat = argv[2];

    bool ok = true;
    test::FwknopClient client;
    const std::vector<std::vector<std::string>> shapes = {
        {"-A", "tcp/22", "-a", "1.2.3.4"},
        {"-A", "tcp/22,udp/53,tcp/443", "-a", "10.0.0.1", "-f", "60"},
        {"-A", "tcp/22", "-a", "1.2.3.4", "-N", "192.168.1.2:22"},
        {"-A", "tcp/22", "-a", "1.2.3.4", "--nat-local", "--nat-port", "2022", "-f", "9"},
        {"-a", "1.2.3.4", "--server-cmd", "uptime"},
        {"-A", "udp/1194", "-s", "-m", "sha512"},
    };
    for (const auto &shape : shapes) {
        std::vector<std::string> hmac = {"--key-rijndael", kKey, "--use-hmac", "--key-hmac",
                                         kHmacKey};
        hmac.insert(hmac.end(), shape.begin(), shape.end());
        ok &= seed(dir, Input::wire, client.packet(hmac), joined(hmac).c_str());
        for (const char *mode : {"cbc", "legacy"}) {
            std::vector<std::string> plain = {"--key-rijndael", kKey, "-M", mode};
            plain.insert(plain.end(), shape.begin(), shape.end());
            ok &= seed(dir, Input::wire, client.packet(plain), joined(plain).c_str());
        }
    }

    auto kc = fuzz_context(1);
    const char *fields[] = {
        "1234567890123456:cm9vdA:1700000000:3.0.0:1:MS4yLjMuNCx0Y3AvMjI",
        "1234567890123456:cm9vdA:1700000000:3.0.0:0:MS4yLjMuNCx1cHRpbWU",
        "1234567890123456:cm9vdA:1700000000:3.0.0:2:MS4yLjMuNCx0Y3AvMjI:MTAuMC4wLjEsMjI",
        "1234567890123456:cm9vdA:1700000000:3.0.0:3:MS4yLjMuNCx0Y3AvMjI:60",
        "1234567890123456:cm9vdA:1700000000:3.0.0:4:MS4yLjMuNCx0Y3AvMjI:MTAuMC4wLjEsMjI:Y3J5cHQ:9",
        "1234567890123456:cm9vdA:1700000000:3.0.0:1:MS4yLjMuNCx0Y3AvMjIsdWRwLzUz:Y3J5cHQ",
    };
    for (const char *f : fields) ok &= seed(dir, Input::fields, f, "a fields seed");

    FkoRequest req;
    req.timestamp = 1700000000;
    req.message = "1.2.3.4,tcp/22";
    std::array<char, kMaxEncoded> out;
    size_t len = 0;
    if (fko_encode(*kc, req, out, len) != Reject::ok) len = 0;
    ok &= seed(dir, Input::wire, {out.data(), len}, "our encoder");

    // GPG mode, as the fuzz target's stand-in for gpg would open it: a request long enough
    // (many ports, a long user) for the 400-character floor real OpenPGP messages clear.
    std::string ports = "1.2.3.4";
    for (int p = 1; p <= 20; ++p) ports += ",tcp/" + std::to_string(1000 + p);
    req.message = ports;
    req.user = "fuzz-user-with-a-rather-long-name-0123456789";
    std::array<char, kMaxEncoded> plain;
    if (fko_encode_plaintext(*kc, req, plain, len) != Reject::ok) {
        std::fprintf(stderr, "fko_fuzz_seeds: the GPG seed's request does not encode\n");
        return 1;
    }
    std::vector<uint8_t> message(std::begin(kGpgHeader), std::end(kGpgHeader));
    message.insert(message.end(), plain.begin(), plain.begin() + static_cast<long>(len));
    for (bool hmac : {false, true}) {
        auto gpg = fuzz_gpg_context(hmac);
        size_t n = 0;
        if (!gpg || fko_wrap_gpg(*gpg, message, out, n) != Reject::ok) n = 0;
        ok &= seed(dir, Input::wire, {out.data(), n}, hmac ? "GPG with HMAC" : "GPG");
    }

    std::ifstream k(kat);
    std::string line;
    int kat_packets = 0;
    while (std::getline(k, line)) {
        auto p = line.find("\"packet\": \"");
        if (p == std::string::npos) continue;
        p += 11;
        ok &= seed(dir, Input::wire, line.substr(p, line.find('"', p) - p), "a KAT packet");
        ++kat_packets;
    }
    if (kat_packets == 0) {
        std::fprintf(stderr, "fko_fuzz_seeds: no KAT packet in %s\n", kat.c_str());
        ok = false;
    }
    return ok ? 0 : 1;
}
