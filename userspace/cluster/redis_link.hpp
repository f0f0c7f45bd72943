#pragma once
// One hiredis connection with bounded waits: every connect, send and reply gives up after
// the link's timeout and closes the link (a reply that came late must never be read as the
// next command's). Not thread-safe: one owner at a time.

#include <hiredis/hiredis.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xk::cluster {

struct Endpoint {
    std::string host;  // TCP: an address or name
    int port = 0;
    std::string unix_path;  // or a unix socket
    std::string describe() const;
};

struct ReplyFree {
    void operator()(redisReply *r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class RedisLink {
  public:
    RedisLink(Endpoint endpoint, std::string password, std::chrono::milliseconds timeout);
    ~RedisLink() { close(); }
    RedisLink(const RedisLink &) = delete;
    RedisLink &operator=(const RedisLink &) = delete;

    bool connected() const { return ctx_ != nullptr; }
    // "" when connected (and authenticated), else why not.
    std::string connect();
    void close();
    // Null when the link failed (it is closed then; error() says why). A Redis error reply
    // is a reply (type REDIS_REPLY_ERROR).
    Reply command(std::span<const std::string_view> argv);
    Reply command(std::initializer_list<std::string_view> argv) {
        return command(std::span<const std::string_view>(argv.begin(), argv.size()));
    }
    // Pipelined: sends every command, then reads as many replies. Empty on a failure.
    std::vector<Reply> pipeline(const std::vector<std::vector<std::string>> &commands);
    const std::string &error() const { return error_; }
    void set_timeout(std::chrono::milliseconds timeout);

  private:
    Reply failed(const char *what);

    Endpoint endpoint_;
    std::string password_;
    std::chrono::milliseconds timeout_;
    redisContext *ctx_ = nullptr;
    std::string error_;
};

}  // namespace xk::cluster
