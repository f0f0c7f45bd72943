#pragma once
// One gateway's membership in a cluster of gateways that act as one through Redis
// (ARCHITECTURE.md): replays are decided cluster-wide, grants and revokes are shared.
//
// - Replay: the first gateway to SET <p>:replay:<digest> NX wins; the others call the knock
//   a replay. A knock waits on Redis at most timeout_ms; without an answer it is judged on
//   the local cache alone and its digest is queued for Redis.
// - Grants are written locally first, then queued; a publisher thread stores each in its
//   address's hash with its wall-clock expiry and appends it to the <p>:events stream, in
//   one script (a revoke ends what was granted before it, in Redis too).
// - A subscriber thread loads the live grants when it (re)connects, then follows the
//   stream and writes the other gateways' grants into the attached local stores with the
//   time they have left (never more than their own timeout).
// - Redis down: logged once, counted; each gateway goes on alone; its grants, revokes and
//   digests queue (bounded) and are sent when Redis is back: the digests and the missed
//   stream first, then the queued events.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/authorization_store.hpp"
#include "cluster/bounded_queue.hpp"
#include "cluster/cluster_event.hpp"
#include "cluster/redis_link.hpp"
#include "policy/config.hpp"
#include "stats/snapshot.hpp"

namespace xk::cluster {

// Where the cluster writes the other gateways' grants and revokes: a gate's store
// (cluster_store.hpp), which hands what a revoke removed to its next sweep (for the ranges'
// on_expire hooks, on the daemon's thread).
class Member {
  public:
    virtual ~Member() = default;
    virtual void remote_grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                              uint32_t seconds) = 0;
    virtual size_t remote_revoke(const policy::Address &addr) = 0;
};

class Cluster {
  public:
    enum class Claim { first, seen, unknown };  // unknown: Redis did not answer in time

    // Reads the password file; connects only in start(). Throws naming the key.
    explicit Cluster(const policy::Cluster &config, size_t knock_threads = 4);
    ~Cluster();
    Cluster(const Cluster &) = delete;
    Cluster &operator=(const Cluster &) = delete;

    // Connects (an unreachable Redis is an outage, not an error) and starts both threads.
    void start();
    void stop();

    // Knock path, any thread: first sight of d cluster-wide? ttl_s: how long Redis keeps it.
    // On unknown the caller judges locally and hands the digest to unclaimed().
    Claim claim(const spa::ReplayDigest &d, int64_t ttl_s);
    void unclaimed(const spa::ReplayDigest &d, int64_t ttl_s);

    // A local grant or revoke, for the other gateways: queued, never waits.
    void published_grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                         uint32_t timeout_s);
    void published_revoke(const policy::Address &addr);

    void attach(Member *member);
    void detach(Member *member);

    bool connected() const { return up_.load(std::memory_order_acquire); }
    stats::ClusterState state() const;
    const std::string &node() const { return config_.node; }

  private:
    struct Lane;  // a knock thread's Redis link
    struct Digest {
        spa::ReplayDigest d{};
        int64_t expires = 0;
    };

    void queue(const Event &e);
    void publisher();
    void publish_queued(RedisLink &link);
    bool send_events(RedisLink &link);
    bool send_digests(RedisLink &link);  // subscriber thread, in sync()
    void heartbeat(RedisLink &link);
    void subscriber();
    bool sync(RedisLink &link, std::string &last_id);
    std::string check_version(RedisLink &link);
    std::string stream_end(RedisLink &link, std::string &last_id);
    void connect_lanes(uint64_t generation);
    size_t load_grants(RedisLink &link);
    size_t load_address(RedisLink &link, const std::string &set, const std::string &key);
    bool follow(RedisLink &link, std::string &last_id);
    void apply(const RemoteEvent &r, bool quiet);
    void apply_revoke(const RemoteEvent &r, RedisLink &link);
    void note_outage(const std::string &why);
    void note_up(size_t loaded, uint64_t generation);
    void lag_sample(int64_t us);
    bool wait(std::chrono::milliseconds d);

    // hiredis writes with write(): a Redis gone away must cost an outage, not the process.
    bool ignore_sigpipe_;
    policy::Cluster config_;
    Endpoint endpoint_;
    std::string password_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    BoundedQueue<Event> outbox_;
    BoundedQueue<Digest> digests_;

    std::atomic<bool> up_{false};
    // Bumped at each (re)connect: a lane whose link is from an older one reconnects first (the
    // old socket died with the outage even if it never failed a command).
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> resync_{true};
    std::atomic<bool> stopping_{false};
    std::mutex wake_mu_;
    std::condition_variable wake_;
    std::thread publisher_, subscriber_;

    std::mutex stores_mu_;
    std::vector<Member *> stores_;

    mutable std::mutex state_mu_;
    bool said_down_ = false;
    stats::ClusterState state_;
    std::vector<uint32_t> lags_;  // a ring of the last samples, µs
    size_t lag_next_ = 0;
    uint64_t malformed_ = 0;  // subscriber thread only
    std::string stream_id_;   // subscriber thread: the last event read ("" before the first)
    std::atomic<uint64_t> published_{0}, dropped_{0}, applied_{0}, replay_remote_{0},
        replay_local_only_{0};
};

// Sends one event now, without a running Cluster (`xdpknock allow/revoke`): "" or why not.
std::string publish_now(const policy::Cluster &config, const Event &e);

}  // namespace xk::cluster
