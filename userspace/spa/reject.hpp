// Every reason a knock is refused, shared by counters, logs and the codec's return values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xk::spa {

enum class Reject : uint8_t {
    ok = 0,
    // Wire structure, checked before any cryptography.
    too_short,
    too_long,
    bad_prefix,  // starts with "U2FsdGVkX1": a replayed fwknop packet with its prefix put back
    bad_base64,
    // Authentication and decryption.
    hmac_mismatch,
    bad_length,       // ciphertext is not "Salted__" + salt + whole AES blocks
    bad_salt_header,  // the 8 bytes before the salt are not "Salted__"
    decrypt_failed,
    // Plaintext ("encoded data") fields.
    bad_plaintext_length,
    not_printable,
    bad_fields,  // wrong number of ':'-separated fields for the message type
    field_too_long,
    unknown_digest,
    digest_mismatch,
    bad_rand,
    bad_user,
    bad_timestamp,
    bad_version,
    bad_message_type,
    bad_message,  // message field does not base64-decode to a usable string
    bad_allow_ip,
    bad_access,  // proto/port list malformed
    too_many_ports,
    bad_command,
    bad_nat_access,
    bad_server_auth,
    bad_client_timeout,
    // Configuration and encoding (never produced by a received packet).
    bad_secret,
    buffer_too_small,
    crypto_error,
    // Policy, decided after a successful decode.
    replay,
    too_old,
    too_new,
    source_not_allowed,
    source_mismatch,  // proof_ip: allow IP in the packet is not the packet's source
    allow_ip_any_refused,
    port_not_allowed,
    command_refused,
    nat_refused,
    client_timeout_refused,
    no_secret_matched,
    plain_mismatch,
    replay_cache_full,  // every slot holds a live digest: refuse rather than forget one
    journal_error,      // the replay journal cannot be written: a restart would forget it
    user_not_allowed,   // the range names its users (access.conf REQUIRE_USERNAME): not this one
    range_expired,      // the range's expires_at has passed (ACCESS_EXPIRE)
    destination_not_allowed,  // sent to an address outside the range's destinations
    // GPG mode (fwknop's GPG_* keywords).
    gpg_rate_limited,        // no HMAC vouches for it and the range's GPG budget is spent
    gpg_decrypt_failed,      // not an OpenPGP message to the gateway's key (or gpg failed)
    gpg_no_signature,        // unsigned, and the secret requires a signature
    gpg_bad_signature,       // signature bad, or by a key not known and valid (marginal+)
    gpg_signer_not_allowed,  // a good signature, by none of gpg_remote_ids/fingerprint_ids
    // The grant, after an accepted knock.
    range_full,  // the range holds max_sources sources already: a new one is refused
    map_full,    // the authorized map itself has no room
    count_       // keep last
};

inline constexpr size_t kRejectCount = static_cast<size_t>(Reject::count_);

// snake_case name for logs and metric labels; "unknown" for out-of-range values.
const char *reject_name(Reject r);

}  // namespace xk::spa
