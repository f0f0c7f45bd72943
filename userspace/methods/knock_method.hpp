#pragma once
// The seam every knock method implements (plain, fko; knockd sequences next): what a range
// of that method needs from the config, the XDP pre-filter, the workers and the log. The
// registry (registry.hpp) maps a range to its method; nothing else asks which method it is.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "methods/knock.hpp"
#include "methods/packet_replay.hpp"
#include "policy/config.hpp"
#include "spa/reject.hpp"
#include "xdpknock/maps.h"

namespace xk::methods {

// One object in the config file (a secret, or a range for its method's own keys), as its
// method reads it. Every getter throws policy::ConfigError("<path>.<key>: <problem>"), so
// methods never see JSON.
class SecretFields {
  public:
    virtual void only_keys(std::initializer_list<const char *> keys) const = 0;
    virtual bool has(const char *key) const = 0;
    virtual std::string text(const char *key, const std::string &fallback, bool required) const = 0;
    virtual uint64_t number(const char *key, uint64_t fallback, uint64_t min,
                            uint64_t max) const = 0;
    virtual bool flag(const char *key, bool fallback) const = 0;
    virtual std::vector<std::string> texts(const char *key, bool required) const = 0;
    // Bytes given as text_key (its UTF-8) or b64_key (base64), never both.
    virtual std::vector<uint8_t> bytes(const char *text_key, const char *b64_key,
                                       bool required) const = 0;
    // Throws ConfigError for key ("" names the secret itself).
    [[noreturn]] virtual void fail(const char *key, const std::string &problem) const = 0;

  protected:
    ~SecretFields() = default;
};

// One range's judge on one worker: its pre-keyed contexts and scratch, built at config
// load, so a knock is judged without a lock (but the replay cache's shard) or allocation.
class RangeJudge {
  public:
    virtual ~RangeJudge() = default;
    // A knock from a source the range allows, on its port. Fills d's secret, timeout and
    // ports when it returns ok. replay is the packet's one replay verdict, shared by every
    // range it is tried against.
    virtual spa::Reject judge(const Knock &knock, PacketReplay &replay, Decision &d) = 0;
};

// One authorized-map entry per open port ("*" is one entry: every port).
uint32_t one_entry_per_open_port(const policy::Range &range);

class KnockMethod {
  public:
    virtual ~KnockMethod() = default;
    // The config's "method" value.
    virtual std::string_view name() const = 0;

    // Whether workers judge the range's knocks: UDP datagrams to its "port", checked against
    // its "secrets". False for a method the gate judges itself (sequence): such a range has
    // neither key, and parse_range gives it one secret that names it in logs and stats.
    virtual bool judged_by_workers() const { return true; }
    // Config load: the range keys only this method reads, and their parse into r.
    virtual std::vector<const char *> range_keys() const { return {}; }
    virtual void parse_range(const SecretFields &, policy::Range &) const {}
    // Config load: one secret of a range of this method (keys, validation).
    virtual policy::Secret parse_secret(const SecretFields &fields) const = 0;
    // Config load: what the operator should hear about a range ("range <name>: …").
    virtual void warnings(const policy::Range &, std::vector<std::string> &) const {}
    // Authorized-map entries one source of the range can take.
    virtual uint32_t entries_per_source(const policy::Range &range, const policy::Config &) const {
        return one_entry_per_open_port(range);
    }

    // The XDP pre-filter: adds the shape of this range's knocks to its port's entry.
    virtual void add_shape(const policy::Range &range, xk_port &port) const = 0;

    // Whether the range's knocks go through the replay cache, and whether an old knock is
    // refused by its digest alone (no time window: digests must never age out).
    virtual bool uses_replay(const policy::Range &) const { return false; }
    virtual bool replay_only_by_digest(const policy::Range &) const { return false; }
    // A worker's judge for the range. Throws policy::ConfigError naming range and secret.
    virtual std::unique_ptr<RangeJudge> make_judge(const policy::Range &range) const = 0;

    // What the grant log adds for an accepted knock (", user alice" for fko).
    virtual void describe(const Decision &, std::string &) const {}
};

}  // namespace xk::methods
