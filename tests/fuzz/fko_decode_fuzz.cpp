// libFuzzer target for the fko receive path. Inputs reach the field parser through a valid
// digest and encryption (the fuzzer could never forge those), and raw wire bytes exercise the
// structure, HMAC and decryption steps — and GPG mode's, with a stand-in for gpg that takes
// the OpenPGP bytes after a fixed header as the plaintext (gpg itself is not fuzzed here).
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "fuzz_keys.hpp"
#include "spa/base64.hpp"
#include "spa/fko_decode.hpp"
#include "spa/fko_encode.hpp"
#include "spa/fko_gpg.hpp"

using namespace xk::spa;
using namespace xk::spa::fuzz;

namespace {

struct Contexts {
    std::unique_ptr<FkoKeyContext> kc[3] = {fuzz_context(0), fuzz_context(1), fuzz_context(2)};
    std::unique_ptr<FkoKeyContext> gpg[2] = {fuzz_gpg_context(false), fuzz_gpg_context(true)};
};

void check_decoded(const FkoMessage &m) {
    // Invariants every accepted message must hold.
    if (m.user.len == 0 || m.message.len == 0 || m.timestamp < 0) abort();
    if (m.type != MsgType::command && m.port_count == 0) abort();
    if (m.has_nat != msg_has_nat(m.type) || m.has_client_timeout != msg_has_timeout(m.type))
        abort();
    if (m.client_timeout > kMaxClientTimeout) abort();
}

void seal_and_decode(FkoKeyContext &kc, std::string_view pt) {
    std::array<char, kMaxEncoded> wire;
    size_t len = 0;
    if (fko_seal(kc, {reinterpret_cast<const uint8_t *>(pt.data()), pt.size()}, wire, len) !=
        Reject::ok)
        return;
    FkoMessage m;
    if (fko_decode(kc, {reinterpret_cast<const uint8_t *>(wire.data()), len}, m) == Reject::ok)
        check_decoded(m);
}

// The message after its header as the plaintext (fuzz_keys.hpp: kGpgHeader).
class HeaderOpener final : public GpgOpener {
  public:
    Reject open(std::span<const uint8_t> m, std::span<char> plain, size_t &len) override {
        if (m.size() < sizeof kGpgHeader || std::memcmp(m.data(), kGpgHeader, sizeof kGpgHeader))
            return Reject::gpg_decrypt_failed;
        m = m.subspan(sizeof kGpgHeader);
        if (m.size() > plain.size()) return Reject::bad_plaintext_length;
        std::memcpy(plain.data(), m.data(), m.size());
        len = m.size();
        return Reject::ok;
    }
};

void decode_gpg(FkoKeyContext &kc, std::span<const uint8_t> wire) {
    HeaderOpener opener;
    FkoMessage m;
    if (fko_verify_mac(kc, wire) == Reject::ok && fko_open_gpg(kc, wire, opener, m) == Reject::ok)
        check_decoded(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Contexts ctx;
    if (size < 1) return 0;
    const auto kind = static_cast<Input>(data[0] % 3);
    std::string_view rest(reinterpret_cast<const char *>(data + 1), size - 1);
    FkoMessage m;
    switch (kind) {
        case Input::wire:
            for (auto &kc : ctx.kc)
                if (fko_decode(*kc, {data + 1, size - 1}, m) == Reject::ok) check_decoded(m);
            for (auto &kc : ctx.gpg) decode_gpg(*kc, {data + 1, size - 1});
            break;
        case Input::fields: {
            if (rest.size() > 1200) return 0;
            std::array<char, 1400> pt;
            std::memcpy(pt.data(), rest.data(), rest.size());
            uint8_t d[32];
            EVP_Digest(rest.data(), rest.size(), d, nullptr, EVP_sha256(), nullptr);
            pt[rest.size()] = ':';
            b64_encode({d, 32}, {pt.data() + rest.size() + 1, 43});
            seal_and_decode(*ctx.kc[1], {pt.data(), rest.size() + 44});
            break;
        }
        case Input::plaintext:
            seal_and_decode(*ctx.kc[1], rest);
            break;
    }
    return 0;
}
