#include "daemon/one_time_ledger.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "log/private_file.hpp"
#include "methods/registry.hpp"

namespace xk::daemon {
namespace {

std::string sha256_hex(const std::string &text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr))
        throw std::runtime_error("OpenSSL has no SHA-256");
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

// Changes with the range, its steps and every use, so a source's half-done attempt of
// another sequence (or of this one before a use), or a completion judged for the range that
// had this slot before a reload, never counts toward the current one.
uint32_t generation_of(const std::string &range, const std::vector<policy::PortRef> &steps,
                       size_t uses) {
    uint32_t h = 2166136261u;
    for (char c : range + "#" + policy::format_sequence(steps) + "#" + std::to_string(uses))
        h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
}

}  // namespace

OneTimeLedger::OneTimeLedger(std::string path) : path_(std::move(path)) {
    std::ifstream in(path_);
    if (!in) {
        struct stat st {};
        if (stat(path_.c_str(), &st) != 0 && errno == ENOENT) return;  // none used yet
        throw std::runtime_error(path_ + ": cannot read (" + std::strerror(errno) +
                                 "); refusing to start: used one-time sequences would work again");
    }
    std::stringstream text;
    text << in.rdbuf();
    try {
        const auto j = nlohmann::json::parse(text.str());
        for (const auto &[range, hashes] : j.at("used").items())
            used_[range] = hashes.get<std::vector<std::string>>();
    } catch (const std::exception &e) {
        throw std::runtime_error(path_ + ": unreadable (" + e.what() +
                                 "); refusing to start: used one-time sequences would work again");
    }
}

size_t OneTimeLedger::current_line(const policy::Range &range) const {
    const auto &lines = range.sequence.one_time;
    auto it = used_.find(range.name);
    if (it == used_.end()) return 0;
    // Each use consumes the first unused line that spells it: a sequence listed twice
    // works twice.
    std::vector<bool> taken(lines.size());
    for (const std::string &h : it->second) {
        for (size_t i = 0; i < lines.size(); ++i) {
            if (taken[i] || sha256_hex(policy::format_sequence(lines[i])) != h) continue;
            taken[i] = true;
            break;
        }
    }
    size_t i = 0;
    while (i < lines.size() && taken[i]) ++i;
    return i;
}

gate::SeqCurrent OneTimeLedger::current(const policy::Range &range) const {
    const auto &seq = range.sequence;
    if (seq.one_time.empty()) return {seq.steps, generation_of(range.name, seq.steps, 0)};
    const size_t line = current_line(range);
    auto it = used_.find(range.name);
    const size_t uses = it == used_.end() ? 0 : it->second.size();
    if (line == seq.one_time.size()) return {{}, generation_of(range.name, {}, uses)};  // all used
    return {seq.one_time[line], generation_of(range.name, seq.one_time[line], uses)};
}

std::vector<gate::SeqCurrent> OneTimeLedger::currents(const policy::Config &config) const {
    std::vector<gate::SeqCurrent> out;
    for (uint32_t id : gate::sequence_range_ids(config)) out.push_back(current(config.ranges[id]));
    return out;
}

bool OneTimeLedger::consume(const policy::Range &range, uint32_t generation, std::string &err) {
    if (range.sequence.one_time.empty()) return false;  // a plain sequence works every time
    const gate::SeqCurrent now = current(range);
    if (now.steps.empty() || now.generation != generation) return false;
    auto &hashes = used_[range.name];
    hashes.push_back(sha256_hex(policy::format_sequence(now.steps)));
    err = save();
    if (err.empty()) return true;
    hashes.pop_back();
    return false;
}

std::string OneTimeLedger::save() const {
    nlohmann::json j;
    j["used"] = nlohmann::json::object();
    for (const auto &[range, hashes] : used_) j["used"][range] = hashes;
    return write_private_file(path_, j.dump(1) + "\n");
}

}  // namespace xk::daemon
