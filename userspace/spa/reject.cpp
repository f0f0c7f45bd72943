#include "spa/reject.hpp"

#include <array>
#include <string_view>

namespace xk::spa {

namespace {

// Indexed by the enum value; the static_assert below keeps the table and the enum aligned.
constexpr std::array<const char *, kRejectCount> kNames = {
    "ok",
    "too_short",
    "too_long",
    "bad_prefix",
    "bad_base64",
    "hmac_mismatch",
    "bad_length",
    "bad_salt_header",
    "decrypt_failed",
    "bad_plaintext_length",
    "not_printable",
    "bad_fields",
    "field_too_long",
    "unknown_digest",
    "digest_mismatch",
    "bad_rand",
    "bad_user",
    "bad_timestamp",
    "bad_version",
    "bad_message_type",
    "bad_message",
    "bad_allow_ip",
    "bad_access",
    "too_many_ports",
    "bad_command",
    "bad_nat_access",
    "bad_server_auth",
    "bad_client_timeout",
    "bad_secret",
    "buffer_too_small",
    "crypto_error",
    "replay",
    "too_old",
    "too_new",
    "source_not_allowed",
    "source_mismatch",
    "allow_ip_any_refused",
    "port_not_allowed",
    "command_refused",
    "nat_refused",
    "client_timeout_refused",
    "no_secret_matched",
    "plain_mismatch",
    "replay_cache_full",
    "journal_error",
    "user_not_allowed",
    "range_expired",
    "destination_not_allowed",
    "gpg_rate_limited",
    "gpg_decrypt_failed",
    "gpg_no_signature",
    "gpg_bad_signature",
    "gpg_signer_not_allowed",
    "range_full",
    "map_full",
};

constexpr bool all_named() {
    for (const char *n : kNames)
        if (n == nullptr || std::string_view(n).empty()) return false;
    return true;
}
static_assert(all_named(), "every Reject needs a name");

}  // namespace

const char *reject_name(Reject r) {
    auto i = static_cast<size_t>(r);
    return i < kRejectCount ? kNames[i] : "unknown";
}

}  // namespace xk::spa
