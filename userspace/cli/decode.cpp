#include "cli/decode.hpp"

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "spa/fko_decode.hpp"
#include "spa/fko_key_context.hpp"
#include "spa/fko_types.hpp"

namespace xk::cli {
namespace {

nlohmann::json decode_one(std::vector<std::unique_ptr<spa::FkoKeyContext>> &contexts,
                          const std::vector<policy::Secret> &secrets, const std::string &packet,
                          bool time_check, int proof_time_s) {
    spa::FkoMessage m;
    spa::Reject r = spa::Reject::no_secret_matched;
    size_t used = 0;
    std::span<const uint8_t> wire(reinterpret_cast<const uint8_t *>(packet.data()), packet.size());
    for (; used < contexts.size(); ++used) {
        r = spa::fko_decode(*contexts[used], wire, m);
        if (r == spa::Reject::ok) break;
    }
    nlohmann::json j = {{"accepted", false}, {"reason", spa::reject_name(r)}};
    if (r != spa::Reject::ok) return j;
    int64_t now = time(nullptr);
    if (time_check && m.timestamp < now - proof_time_s) r = spa::Reject::too_old;
    if (time_check && m.timestamp > now + proof_time_s) r = spa::Reject::too_new;
    j["accepted"] = r == spa::Reject::ok;
    j["reason"] = spa::reject_name(r);
    j["secret"] = secrets[used].label;
    j["username"] = std::string(m.user.view());
    j["timestamp"] = m.timestamp;
    j["version"] = std::string(m.version.view());
    j["message_type"] = static_cast<int>(m.type);
    j["message"] = std::string(m.message.view());
    j["nat_access"] =
        m.has_nat ? nlohmann::json(std::string(m.nat_access.view())) : nlohmann::json();
    j["client_timeout"] = m.client_timeout;
    j["digest_type"] = spa::digest_name(m.digest_type);
    return j;
}

}  // namespace

int run_decode(const std::vector<policy::Secret> &secrets, std::vector<std::string> packets,
               bool time_check, int proof_time_s) {
    std::vector<std::unique_ptr<spa::FkoKeyContext>> contexts;
    for (const auto &s : secrets) {
        std::string error;
        auto ctx = spa::FkoKeyContext::create(s.fko, error);
        if (!ctx) {
            fprintf(stderr, "xdpknock: secret %s: %s\n", s.label.c_str(), error.c_str());
            return 2;
        }
        contexts.push_back(std::move(ctx));
    }
    bool from_stdin = packets.empty();
    if (from_stdin && std::cin.eof()) {  // --key-file - read it to its end
        fprintf(stderr, "xdpknock: stdin held the keys: give the packets as arguments\n");
        return 2;
    }
    std::string line;
    int rc = 0;
    for (size_t i = 0;; ++i) {
        if (from_stdin) {
            if (!std::getline(std::cin, line)) break;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty()) continue;
        } else {
            if (i >= packets.size()) break;
            line = packets[i];
        }
        auto j = decode_one(contexts, secrets, line, time_check, proof_time_s);
        if (!j["accepted"].get<bool>()) rc = 1;
        printf("%s\n", j.dump().c_str());
    }
    return rc;
}

}  // namespace xk::cli
