#include "cluster/cluster.hpp"

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <stdexcept>

#include "cluster/cluster_scripts.hpp"
#include "log/clock.hpp"
#include "log/log.hpp"

namespace xk::cluster {
namespace {

using std::chrono::milliseconds;

constexpr size_t kOutboxEvents = 4096;     // an outage's grants and revokes kept for Redis
constexpr size_t kBacklogDigests = 65536;  // an outage's accepted knocks kept for Redis
constexpr size_t kBatch = 64;              // events per pipelined round trip
constexpr size_t kLagSamples = 4096;
constexpr int64_t kPeerFresh_ms = 5000;  // a node heard from this recently is a peer
constexpr int kBlock_ms = 250;           // XREAD BLOCK: how soon stop() is heard

std::string password_of(const policy::Cluster &c) {
    if (c.password_file.empty()) return "";
    std::string text;
    try {
        text = policy::read_secret_file(c.password_file);
    } catch (const policy::ConfigError &e) {
        throw policy::ConfigError(std::string("cluster.password_file: ") + e.what());
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty() || text.find('\n') != std::string::npos)
        throw policy::ConfigError("cluster.password_file: must hold one line, the password");
    return text;
}

Endpoint endpoint_of(const policy::Cluster &c) {
    return Endpoint{c.host, c.port, c.unix_path};
}

bool is_array(const redisReply *r, size_t at_least = 0) {
    return r && r->type == REDIS_REPLY_ARRAY && r->elements >= at_least;
}

// A string, status or error reply's text ("" for others).
std::string text_of(const redisReply *r) {
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
               r->type != REDIS_REPLY_ERROR))
        return "";
    return std::string(r->str, r->len);
}

// A flat [field, value, …] array (HGETALL, a stream entry's fields).
Fields fields_of(const redisReply *r) {
    Fields f;
    if (!is_array(r)) return f;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        f.emplace_back(text_of(r->element[i]), text_of(r->element[i + 1]));
    return f;
}

}  // namespace

struct Cluster::Lane {
    std::mutex mu;
    RedisLink link;
    uint64_t generation = 0;  // the cluster's when link connected
    Lane(const Endpoint &e, const std::string &pw, milliseconds t) : link(e, pw, t) {}
};

Cluster::Cluster(const policy::Cluster &config, size_t knock_threads)
    : ignore_sigpipe_((signal(SIGPIPE, SIG_IGN), true)),
      config_(config),
      endpoint_(endpoint_of(config)),
      password_(password_of(config)),
      outbox_(kOutboxEvents),
      digests_(kBacklogDigests),
      lags_(kLagSamples) {
    for (size_t i = 0; i < knock_threads + 1; ++i)
        lanes_.push_back(
            std::make_unique<Lane>(endpoint_, password_, milliseconds(config.timeout_ms)));
    state_.node = config_.node;
    state_.redis = endpoint_.describe();
}

Cluster::~Cluster() {
    stop();
}

void Cluster::start() {
    stopping_ = false;
    publisher_ = std::thread([this] { publisher(); });
    subscriber_ = std::thread([this] { subscriber(); });
}

void Cluster::stop() {
    {
        std::lock_guard lock(wake_mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (publisher_.joinable()) publisher_.join();
    if (subscriber_.joinable()) subscriber_.join();
}

bool Cluster::wait(milliseconds d) {
    std::unique_lock lock(wake_mu_);
    wake_.wait_for(lock, d, [&] { return stopping_.load() || (up_.load() && outbox_.size()); });
    return !stopping_;
}

// ---- The knock path

Cluster::Claim Cluster::claim(const spa::ReplayDigest &d, int64_t ttl_s) {
    if (!up_.load(std::memory_order_acquire)) {
        replay_local_only_.fetch_add(1, std::memory_order_relaxed);
        return Claim::unknown;
    }
    // A free lane if there is one; else wait for this thread's own.
    static thread_local const size_t hint =
        std::hash<std::thread::id>{}(std::this_thread::get_id());
    std::unique_lock<std::mutex> lock;
    Lane *lane = nullptr;
    for (size_t i = 0; i < lanes_.size() && !lane; ++i) {
        Lane *l = lanes_[(hint + i) % lanes_.size()].get();
        lock = std::unique_lock(l->mu, std::try_to_lock);
        if (lock.owns_lock()) lane = l;
    }
    if (!lane) {
        lane = lanes_[hint % lanes_.size()].get();
        lock = std::unique_lock(lane->mu);
    }
    char key[256], exp[24];
    const size_t key_len = replay_key(config_.prefix, d, key);
    // Relative: Redis's clock, not ours, counts it down.
    const auto exp_end = std::to_chars(exp, exp + sizeof(exp), std::max<int64_t>(ttl_s, 1)).ptr;
    Reply r;
    const uint64_t gen = generation_.load(std::memory_order_acquire);
    if (lane->generation != gen) lane->link.close();
    if (!lane->link.connected() && lane->link.connect().empty()) lane->generation = gen;
    if (lane->link.connected()) {
        r = lane->link.command({"SET",
                                {key, key_len},
                                config_.node,
                                "NX",
                                "EX",
                                {exp, static_cast<size_t>(exp_end - exp)}});
    }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        note_outage(r ? "SET: " + text_of(r.get()) : lane->link.error());
        lane->link.close();
        replay_local_only_.fetch_add(1, std::memory_order_relaxed);
        return Claim::unknown;
    }
    if (r->type == REDIS_REPLY_NIL) {
        replay_remote_.fetch_add(1, std::memory_order_relaxed);
        return Claim::seen;
    }
    return Claim::first;
}

void Cluster::unclaimed(const spa::ReplayDigest &d, int64_t ttl_s) {
    if (!digests_.push({d, time(nullptr) + ttl_s}))
        dropped_.fetch_add(1, std::memory_order_relaxed);
}

void Cluster::published_grant(const policy::Address &addr, std::span<const policy::PortRef> ports,
                              uint32_t timeout_s) {
    queue(grant_event(addr, ports, timeout_s, wall_us()));
}

void Cluster::published_revoke(const policy::Address &addr) {
    queue(revoke_event(addr, wall_us()));
}

void Cluster::queue(const Event &e) {
    if (!outbox_.push(e)) dropped_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(wake_mu_);  // so the publisher cannot miss the wake-up
    wake_.notify_one();
}

std::string publish_now(const policy::Cluster &config, const Event &e) {
    RedisLink link(endpoint_of(config), password_of(config), milliseconds(2000));
    if (std::string why = link.connect(); !why.empty()) return why;
    auto replies = link.pipeline({event_command(e, config.node, config.prefix)});
    if (replies.size() != 1) return link.error();
    if (replies[0]->type == REDIS_REPLY_ERROR) return text_of(replies[0].get());
    return "";
}

void Cluster::attach(Member *member) {
    std::lock_guard lock(stores_mu_);
    stores_.push_back(member);
}

void Cluster::detach(Member *member) {
    std::lock_guard lock(stores_mu_);
    std::erase(stores_, member);
}

// ---- Up and down

void Cluster::note_outage(const std::string &why) {
    resync_.store(true);
    const bool was_up = up_.exchange(false);
    std::lock_guard lock(state_mu_);
    if (!was_up && said_down_) return;
    said_down_ = true;
    ++state_.outages;
    state_.down_since = time(nullptr);
    XK_WARN(
        "cluster: Redis at %s not answering (%s): this gateway goes on alone (replays checked "
        "against its own cache only; its grants, revokes and digests queue for Redis); said "
        "once per outage",
        state_.redis.c_str(), why.c_str());
}

void Cluster::note_up(size_t loaded, uint64_t generation) {
    std::lock_guard lock(state_mu_);
    const int64_t down = state_.down_since ? time(nullptr) - state_.down_since : -1;
    state_.down_since = 0;
    said_down_ = false;
    generation_.store(generation, std::memory_order_release);
    up_.store(true, std::memory_order_release);
    XK_INFO(
        "cluster: connected to Redis at %s as node %s: %zu live grant(s) of the cluster loaded%s",
        state_.redis.c_str(), config_.node.c_str(), loaded,
        down >= 0 ? (", after " + std::to_string(down) + " s without it").c_str() : "");
}

void Cluster::lag_sample(int64_t us) {
    std::lock_guard lock(state_mu_);
    lags_[lag_next_++ % lags_.size()] =
        static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
    ++state_.lag_samples;
}

stats::ClusterState Cluster::state() const {
    std::lock_guard lock(state_mu_);
    stats::ClusterState s = state_;
    s.connected = up_.load();
    s.published = published_.load();
    s.dropped = dropped_.load();
    s.applied = applied_.load();
    s.replay_remote = replay_remote_.load();
    s.replay_local_only = replay_local_only_.load();
    s.queued = outbox_.size() + digests_.size();
    std::vector<uint32_t> v(lags_.begin(), lags_.begin() + std::min(lag_next_, lags_.size()));
    if (!v.empty()) {
        std::sort(v.begin(), v.end());
        s.lag_p50_us = v[(v.size() - 1) / 2];
        s.lag_p99_us = v[(v.size() - 1) * 99 / 100];
        s.lag_max_us = v.back();
    }
    return s;
}

// ---- Publisher: this gateway's grants, revokes and outage digests, and the heartbeat

void Cluster::publisher() {
    RedisLink link(endpoint_, password_,
                   std::max(milliseconds(config_.timeout_ms), milliseconds(1000)));
    auto next_beat = std::chrono::steady_clock::now();
    while (wait(milliseconds(200))) {
        if (!up_.load()) {
            link.close();
            continue;
        }
        if (!link.connected()) {
            if (std::string why = link.connect(); !why.empty()) {
                note_outage(why);
                continue;
            }
        }
        if (auto now = std::chrono::steady_clock::now(); now >= next_beat) {
            heartbeat(link);
            next_beat = now + std::chrono::seconds(1);
        }
        publish_queued(link);
    }
    // A plain stop: what the last knocks granted still reaches the others, if Redis is there.
    if (up_.load() && link.connected()) publish_queued(link);
}

void Cluster::publish_queued(RedisLink &link) {
    while (up_.load() && outbox_.size() && send_events(link)) {
    }
}

bool Cluster::send_events(RedisLink &link) {
    std::vector<Event> batch;
    const size_t n = outbox_.peek(batch, kBatch);
    std::vector<std::vector<std::string>> cmds;
    for (const Event &e : batch) cmds.push_back(event_command(e, config_.node, config_.prefix));
    std::vector<Reply> replies = link.pipeline(cmds);
    if (replies.size() != n) {
        note_outage(link.error());
        return false;
    }
    // A refusal (out of memory, a read-only replica) is an outage: the events stay queued, in
    // order, for when Redis takes them (a revoke must not be lost).
    size_t done = 0;
    while (done < n && replies[done]->type != REDIS_REPLY_ERROR) ++done;
    outbox_.pop(done);
    published_.fetch_add(done, std::memory_order_relaxed);
    if (done < n) {
        note_outage("Redis refused an event: " + text_of(replies[done].get()));
        link.close();
        return false;
    }
    return true;
}

// Knocks accepted while Redis was away: now first seen cluster-wide, unless another
// gateway accepted the same knock meanwhile (the outage's weaker guarantee).
bool Cluster::send_digests(RedisLink &link) {
    std::vector<Digest> batch;
    const size_t n = digests_.peek(batch, kBatch);
    std::vector<std::vector<std::string>> cmds;
    for (const Digest &d : batch) {
        char key[256];
        const size_t len = replay_key(config_.prefix, d.d, key);
        const int64_t ttl = d.expires - time(nullptr);
        if (ttl > 0)
            cmds.push_back(
                {"SET", std::string(key, len), config_.node, "NX", "EX", std::to_string(ttl)});
    }
    if (link.pipeline(cmds).size() != cmds.size()) return false;
    digests_.pop(n);
    return true;
}

void Cluster::heartbeat(RedisLink &link) {
    const int64_t now_ms = wall_us() / 1000;
    const std::string nodes = config_.prefix + ":nodes";
    auto replies =
        link.pipeline({{"HSET", nodes, config_.node, std::to_string(now_ms)}, {"HGETALL", nodes}});
    if (replies.size() != 2) {
        note_outage(link.error());
        return;
    }
    std::vector<std::string> peers;
    for (const auto &[node, seen] : fields_of(replies[1].get())) {
        int64_t t = 0;
        std::from_chars(seen.data(), seen.data() + seen.size(), t);
        if (node != config_.node && now_ms - t < kPeerFresh_ms) peers.push_back(node);
    }
    std::sort(peers.begin(), peers.end());
    std::lock_guard lock(state_mu_);
    state_.peers = std::move(peers);
}

// ---- Subscriber: the live grants at each (re)connect, then the stream

void Cluster::subscriber() {
    RedisLink link(endpoint_, password_,
                   std::max(milliseconds(config_.timeout_ms), milliseconds(kBlock_ms + 1000)));
    std::string &last_id = stream_id_;  // kept across a stop and start too
    while (!stopping_.load()) {
        if (resync_.exchange(false) || !link.connected()) {
            if (!sync(link, last_id)) {
                resync_ = true;
                wait(milliseconds(1000));
                continue;
            }
        }
        if (!follow(link, last_id)) note_outage(link.error());
    }
}

// At each (re)connect, before knocks ask Redis again: Redis is 7.0 or later (the scripts
// use PEXPIRETIME); the stream is followed from where this gateway left it, so a revoke made
// meanwhile still arrives (at the first connect: from its end); the live grants are loaded
// (an event landing meanwhile is read twice at worst); the outage's digests are sent before
// any knock is judged by Redis again; the knock lanes are connected.
bool Cluster::sync(RedisLink &link, std::string &last_id) {
    std::string why = link.connect();
    if (why.empty()) why = check_version(link);
    if (why.empty() && last_id.empty()) why = stream_end(link, last_id);
    if (!why.empty()) {
        note_outage(why);
        link.close();
        return false;
    }
    const size_t loaded = load_grants(link);
    while (link.connected() && digests_.size() && send_digests(link)) {
    }
    if (!link.connected()) {
        note_outage(link.error());
        return false;
    }
    const uint64_t generation = generation_.load() + 1;
    connect_lanes(generation);
    note_up(loaded, generation);
    wake_.notify_all();  // the publisher sends what queued meanwhile
    return true;
}

std::string Cluster::check_version(RedisLink &link) {
    Reply info = link.command({"INFO", "server"});
    const std::string text = text_of(info.get());
    const size_t at = text.find("redis_version:");
    if (!info) return link.error();
    if (at == std::string::npos) return "INFO server: " + text.substr(0, 80);
    int major = 0;
    std::from_chars(text.data() + at + 14, text.data() + text.size(), major);
    if (major >= 7) return "";
    return "Redis " + text.substr(at + 14, text.find_first_of("\r\n", at) - at - 14) +
           " is older than 7.0 (the cluster's scripts need PEXPIRETIME)";
}

std::string Cluster::stream_end(RedisLink &link, std::string &last_id) {
    Reply end = link.command({"XREVRANGE", config_.prefix + ":events", "+", "-", "COUNT", "1"});
    if (!end) return link.error();
    if (!is_array(end.get())) return "XREVRANGE: " + text_of(end.get());
    last_id = end->elements && is_array(end->element[0], 1) ? text_of(end->element[0]->element[0])
                                                            : "0-0";
    return "";
}

// Each lane's link from this connect: its old socket died with the outage even if it never
// failed a command. A lane that cannot connect now tries again at its next knock.
void Cluster::connect_lanes(uint64_t generation) {
    for (auto &lane : lanes_) {
        std::lock_guard lock(lane->mu);
        if (lane->link.connect().empty()) lane->generation = generation;
    }
}

// The addresses with grants are the members of <prefix>:grants: no walk over the keyspace
// (replay keys, other clusters). A member whose hash has expired is dropped on the way.
size_t Cluster::load_grants(RedisLink &link) {
    size_t loaded = 0;
    std::string cursor = "0";
    const std::string set = config_.prefix + ":grants";
    do {
        Reply page = link.command({"SSCAN", set, cursor, "COUNT", "1000"});
        if (!is_array(page.get(), 2) || !is_array(page->element[1])) {
            link.close();
            return loaded;
        }
        cursor = text_of(page->element[0]);
        for (size_t i = 0; i < page->element[1]->elements && link.connected(); ++i)
            loaded += load_address(link, set, text_of(page->element[1]->element[i]));
    } while (cursor != "0" && link.connected() && !stopping_.load());
    return loaded;
}

size_t Cluster::load_address(RedisLink &link, const std::string &set, const std::string &key) {
    auto addr = grant_key_address(config_.prefix, key);
    Reply all = link.command({"HGETALL", key});
    if (!all) return 0;
    const Fields fields = fields_of(all.get());
    if (!addr || fields.empty()) link.command({"SREM", set, key});
    size_t loaded = 0;
    for (const auto &[port, value] : fields) {
        if (auto r = addr ? parse_stored_grant(*addr, port, value) : std::nullopt) {
            apply(*r, true);
            ++loaded;
        }
    }
    return loaded;
}

// One XREAD: false when the link failed.
bool Cluster::follow(RedisLink &link, std::string &last_id) {
    Reply r = link.command({"XREAD", "COUNT", "256", "BLOCK", std::to_string(kBlock_ms), "STREAMS",
                            config_.prefix + ":events", last_id});
    if (!r) return false;
    if (r->type == REDIS_REPLY_NIL) return true;  // nothing new
    if (!is_array(r.get(), 1) || !is_array(r->element[0], 2)) {
        link.close();
        return false;
    }
    const redisReply *entries = r->element[0]->element[1];
    for (size_t i = 0; is_array(entries) && i < entries->elements; ++i) {
        const redisReply *entry = entries->element[i];
        if (!is_array(entry, 2)) continue;
        last_id = text_of(entry->element[0]);
        auto ev = parse_event(fields_of(entry->element[1]));
        if (!ev) {
            // Logged at the 1st, 2nd, 4th, 8th… so a flood of them is no flood of lines.
            const uint64_t n = ++malformed_;
            if ((n & (n - 1)) == 0)
                XK_WARN("cluster: event %s in %s:events is malformed: ignored (%llu so far)",
                        last_id.c_str(), config_.prefix.c_str(),
                        static_cast<unsigned long long>(n));
            continue;
        }
        // Its own revokes too: a grant loaded back at a reconnect, before the outage's
        // revoke reached Redis, or one granted before it elsewhere, is ended here as well.
        if (ev->event.op == Event::Op::revoke) {
            apply_revoke(*ev, link);
        } else if (ev->node != config_.node) {
            apply(*ev, false);
            lag_sample(wall_us() - ev->event.at_us);
        }
    }
    return link.connected();
}

void Cluster::apply(const RemoteEvent &r, bool quiet) {
    const uint32_t secs = remaining_seconds(r.event, wall_us() / 1000);
    if (secs == 0) return;
    {
        std::lock_guard lock(stores_mu_);
        for (Member *m : stores_) m->remote_grant(r.event.addr, r.event.port_list(), secs);
    }
    applied_.fetch_add(1, std::memory_order_relaxed);
    if (!quiet) {
        XK_INFO("cluster: %s authorized %s for %s: %us left here", r.node.c_str(),
                policy::format_address(r.event.addr).c_str(),
                format_ports(r.event.port_list()).c_str(), secs);
    }
}

// Ends every local entry of the address, then gives back the grants made after the revoke
// (another gateway may have granted it again meanwhile).
void Cluster::apply_revoke(const RemoteEvent &r, RedisLink &link) {
    size_t removed = 0;
    {
        std::lock_guard lock(stores_mu_);
        for (Member *m : stores_) removed += m->remote_revoke(r.event.addr);
    }
    const bool own = r.node == config_.node;  // done here already, unless undone since
    if (!own) applied_.fetch_add(1, std::memory_order_relaxed);
    if (!own || removed) {
        XK_INFO("cluster: %s revoked %s: %zu entr%s removed here", r.node.c_str(),
                policy::format_address(r.event.addr).c_str(), removed, removed == 1 ? "y" : "ies");
    }
    Reply all = link.command({"HGETALL", grant_key(config_.prefix, r.event.addr)});
    for (const auto &[port, value] : fields_of(all.get())) {
        auto g = parse_stored_grant(r.event.addr, port, value);
        if (g && g->event.at_us > r.event.at_us) apply(*g, true);
    }
}

}  // namespace xk::cluster
