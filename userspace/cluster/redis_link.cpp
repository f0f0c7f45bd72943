#include "cluster/redis_link.hpp"

namespace xk::cluster {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    return {static_cast<time_t>(ms.count() / 1000),
            static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

std::string Endpoint::describe() const {
    if (!unix_path.empty()) return "unix:" + unix_path;
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
}

RedisLink::RedisLink(Endpoint endpoint, std::string password, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), password_(std::move(password)), timeout_(timeout) {}

void RedisLink::close() {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
}

void RedisLink::set_timeout(std::chrono::milliseconds timeout) {
    timeout_ = timeout;
    if (ctx_) redisSetTimeout(ctx_, to_timeval(timeout_));
}

std::string RedisLink::connect() {
    close();
    const timeval tv = to_timeval(timeout_);
    ctx_ = endpoint_.unix_path.empty()
               ? redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv)
               : redisConnectUnixWithTimeout(endpoint_.unix_path.c_str(), tv);
    if (!ctx_ || ctx_->err) {
        error_ = ctx_ ? ctx_->errstr : "out of memory";
        close();
        return error_;
    }
    redisSetTimeout(ctx_, tv);
    if (!password_.empty()) {
        Reply r = command({"AUTH", password_});
        if (!r) return error_;
        if (r->type == REDIS_REPLY_ERROR) {
            // Redis's own words ("WRONGPASS …"), never the password.
            error_ = "AUTH refused: " + std::string(r->str, r->len);
            close();
            return error_;
        }
    }
    error_.clear();
    return "";
}

Reply RedisLink::failed(const char *what) {
    error_ = ctx_ && ctx_->err ? std::string(ctx_->errstr) : what;
    if (error_.empty()) error_ = what;
    close();
    return nullptr;
}

Reply RedisLink::command(std::span<const std::string_view> argv) {
    if (!ctx_) {
        error_ = "not connected";
        return nullptr;
    }
    constexpr size_t kMaxArgs = 32;  // on the stack: the knock path allocates nothing here
    const char *args[kMaxArgs];
    size_t lens[kMaxArgs];
    if (argv.size() > kMaxArgs) return failed("too many arguments");
    for (size_t i = 0; i < argv.size(); ++i) {
        args[i] = argv[i].data();
        lens[i] = argv[i].size();
    }
    void *r = redisCommandArgv(ctx_, static_cast<int>(argv.size()), args, lens);
    if (!r) return failed("no reply");
    return Reply(static_cast<redisReply *>(r));
}

std::vector<Reply> RedisLink::pipeline(const std::vector<std::vector<std::string>> &commands) {
    std::vector<Reply> out;
    if (!ctx_) {
        error_ = "not connected";
        return out;
    }
    for (const auto &cmd : commands) {
        std::vector<const char *> args;
        std::vector<size_t> lens;
        for (const auto &a : cmd) {
            args.push_back(a.data());
            lens.push_back(a.size());
        }
        if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()) !=
            REDIS_OK) {
            failed("cannot queue a command");
            return {};
        }
    }
    for (size_t i = 0; i < commands.size(); ++i) {
        void *r = nullptr;
        if (redisGetReply(ctx_, &r) != REDIS_OK || !r) {
            failed("no reply");
            return {};
        }
        out.emplace_back(static_cast<redisReply *>(r));
    }
    return out;
}

}  // namespace xk::cluster
