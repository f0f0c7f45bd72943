#include "cluster/cluster_scripts.hpp"

namespace xk::cluster {
namespace {

// KEYS: the address's grant hash, its revoke mark, the stream, the set of grant hashes (what a
// gateway loads at a reconnect). ARGV: at_us, expires_ms,
// the hash value, stream MAXLEN, ports, then the stream entry's fields. A grant made before
// a revoke of its address (a late one from an outage's backlog) is dropped; an entry that
// lasts longer is kept (extend-only, as in every store).
constexpr const char *kGrantScript = R"lua(
local mark = tonumber(redis.call('GET', KEYS[2]) or '0')
if mark >= tonumber(ARGV[1]) then return 0 end
local exp = tonumber(ARGV[2])
for port in string.gmatch(ARGV[5], '[^,]+') do
  local cur = redis.call('HGET', KEYS[1], port)
  if not cur or tonumber(string.match(cur, '^%d+')) < exp then
    redis.call('HSET', KEYS[1], port, ARGV[3])
  end
end
if redis.call('PEXPIRETIME', KEYS[1]) < exp then redis.call('PEXPIREAT', KEYS[1], exp) end
redis.call('SADD', KEYS[4], KEYS[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 6))
return 1
)lua";

// ARGV: at_us, the mark's lifetime, stream MAXLEN, then the stream entry's fields. Removes
// the grants made before the revoke; later ones stay.
constexpr const char *kRevokeScript = R"lua(
local at = tonumber(ARGV[1])
local mark = tonumber(redis.call('GET', KEYS[2]) or '0')
if mark < at then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2]) end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local made = tonumber(string.match(all[i + 1], '^%d+ %d+ (%d+)'))
  if not made or made <= at then redis.call('HDEL', KEYS[1], all[i]) end
end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[4], KEYS[1]) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
return 1
)lua";

}  // namespace

std::vector<std::string> event_command(const Event &e, const std::string &node,
                                       const std::string &prefix) {
    const bool grant = e.op == Event::Op::grant;
    const std::string addr = policy::format_address(e.addr);
    std::vector<std::string> argv{"EVAL",
                                  grant ? kGrantScript : kRevokeScript,
                                  "4",
                                  grant_key(prefix, e.addr),
                                  prefix + ":revoked:" + addr,
                                  prefix + ":events",
                                  prefix + ":grants",
                                  std::to_string(e.at_us)};
    if (grant) {
        argv.insert(argv.end(), {std::to_string(e.expires_ms), grant_value(e, node),
                                 std::to_string(kStreamMaxLen), format_ports(e.port_list())});
    } else {
        argv.insert(argv.end(),
                    {std::to_string(kRevokeMarkSeconds), std::to_string(kStreamMaxLen)});
    }
    for (auto &[k, v] : event_fields(e, node)) argv.insert(argv.end(), {k, v});
    return argv;
}

}  // namespace xk::cluster
