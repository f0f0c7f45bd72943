// sequence: knockd's port knocking. A source hits a list of (proto, port) steps in order
// within seq_timeout and is granted the range's ports. The gate's XDP program judges every
// hit against per-source state (bpf/xdpknock.bpf.c), so no worker sees these packets:
// this method only reads the config and names the range in logs.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "methods/knock_method.hpp"

namespace xk::methods {
namespace {

using policy::ConfigError;
using policy::PortRef;

// knockd's tcpflags: "syn", "syn,!ack", "fin,psh,urg": a TCP hit counts when every named
// flag is set and every !flag clear.
void parse_tcp_flags(const SecretFields &f, policy::PortSequence &seq) {
    static constexpr std::pair<std::string_view, uint8_t> kFlags[] = {
        {"fin", 0x01}, {"syn", 0x02}, {"rst", 0x04}, {"psh", 0x08}, {"ack", 0x10}, {"urg", 0x20},
    };
    std::string_view text = "";
    const std::string value = f.text("tcp_flags", "", false);
    text = value;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        std::string_view word = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const bool negated = !word.empty() && word.front() == '!';
        if (negated) word.remove_prefix(1);
        uint8_t bit = 0;
        for (const auto &[name, b] : kFlags)
            if (word == name) bit = b;
        if (!bit)
            f.fail("tcp_flags",
                   "\"" + std::string(word) + "\" is not fin, syn, rst, psh, ack or urg");
        if (seq.tcp_flags_mask & bit) f.fail("tcp_flags", "names " + std::string(word) + " twice");
        seq.tcp_flags_mask |= bit;
        if (!negated) seq.tcp_flags_want |= bit;
    }
}

void check_steps(const SecretFields &f, const char *key, const std::vector<PortRef> &steps) {
    if (steps.size() > XK_SEQ_STEPS_MAX)
        f.fail(key, "at most " + std::to_string(XK_SEQ_STEPS_MAX) + " steps");
}

constexpr size_t kMaxOneTimeFile = 1 << 20;

// The file whole, checked on the opened descriptor: a regular file (never a FIFO or a device
// that would hang the load, never through a symlink) of at most kMaxOneTimeFile bytes.
std::string read_small_file(const SecretFields &f, const std::string &path) {
    if (path.empty() || path[0] != '/') f.fail("one_time_sequences", "must be an absolute path");
    const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) f.fail("one_time_sequences", path + ": " + std::strerror(errno));
    struct stat st {};
    std::string text, problem;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) problem = "not a regular file";
    char buf[4096];
    ssize_t n = 0;
    while (problem.empty() && (n = read(fd, buf, sizeof(buf))) > 0) {
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxOneTimeFile) problem = "larger than 1 MiB";
    }
    if (problem.empty() && n < 0) problem = std::strerror(errno);
    close(fd);
    if (!problem.empty()) f.fail("one_time_sequences", path + ": " + problem);
    return text;
}

// knockd's one_time_sequences file: one sequence a line in its spelling ("7000,8000:udp"),
// '#' starts a comment (knockd comments out the lines it used).
std::vector<std::vector<PortRef>> read_one_time(const SecretFields &f, const std::string &path) {
    std::istringstream in(read_small_file(f, path));
    std::vector<std::vector<PortRef>> out;
    std::string line;
    for (unsigned n = 1; std::getline(in, line); ++n) {
        line = line.substr(0, line.find('#'));
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
            out.push_back(policy::parse_knockd_sequence(line));
        } catch (const ConfigError &e) {
            f.fail("one_time_sequences", path + ":" + std::to_string(n) + ": " + e.what());
        }
        check_steps(f, "one_time_sequences", out.back());
    }
    if (out.empty()) f.fail("one_time_sequences", path + ": holds no sequence");
    return out;
}

class Sequence final : public KnockMethod {
  public:
    std::string_view name() const override { return "sequence"; }
    bool judged_by_workers() const override { return false; }
    std::vector<const char *> range_keys() const override {
        return {"sequence", "seq_timeout", "tcp_flags", "one_time_sequences", "revoke"};
    }

    void parse_range(const SecretFields &f, policy::Range &r) const override {
        policy::PortSequence &seq = r.sequence;
        if (f.has("sequence") == f.has("one_time_sequences"))
            f.fail("sequence", "give either sequence or one_time_sequences");
        const std::vector<std::string> steps = f.texts("sequence", false);
        for (size_t i = 0; i < steps.size(); ++i) {
            const std::string key = "sequence[" + std::to_string(i) + "]";
            try {
                seq.steps.push_back(policy::parse_port_ref(steps[i]));
            } catch (const ConfigError &e) {
                f.fail(key.c_str(), e.what());
            }
            if (seq.steps.back().proto == 0) f.fail(key.c_str(), "\"*\" is not a sequence step");
        }
        if (f.has("sequence") && steps.empty()) f.fail("sequence", "needs at least one step");
        check_steps(f, "sequence", seq.steps);
        seq.timeout_s = static_cast<uint32_t>(f.number("seq_timeout", 25, 1, 3600));
        parse_tcp_flags(f, seq);
        seq.revoke = f.flag("revoke", false);
        seq.one_time_file = f.text("one_time_sequences", "", false);
        if (!seq.one_time_file.empty()) seq.one_time = read_one_time(f, seq.one_time_file);
        // One secret, so logs and stats name the range's grants like any other's.
        r.secrets.push_back({.label = "sequence", .plain = {}, .fko = {}});
    }

    // knockd's weakness, said once at start: a sequence is plain text on the wire.
    void warnings(const policy::Range &r, std::vector<std::string> &out) const override {
        if (!r.sequence.one_time.empty() || r.sequence.revoke) return;
        out.push_back("range " + r.name +
                      ": whoever sees the sequence on the path can knock it again, from their "
                      "own address; one_time_sequences or an fko range do not have that flaw");
    }

    // A revoke sequence writes nothing; it still needs a quota to stand in the config.
    uint32_t entries_per_source(const policy::Range &r, const policy::Config &) const override {
        return std::max<uint32_t>(1, one_entry_per_open_port(r));
    }

    // Never asked: parse_range refuses a "secrets" key for this method.
    policy::Secret parse_secret(const SecretFields &) const override {
        throw std::logic_error("a sequence range has no secrets to parse");
    }
    void add_shape(const policy::Range &, xk_port &) const override {}

    // Never asked: the gate judges sequences, no knock of theirs reaches a worker.
    std::unique_ptr<RangeJudge> make_judge(const policy::Range &) const override {
        return std::make_unique<NoJudge>();
    }

  private:
    class NoJudge final : public RangeJudge {
      public:
        spa::Reject judge(const Knock &, PacketReplay &, Decision &) override {
            return spa::Reject::no_secret_matched;
        }
    };
};

}  // namespace

const KnockMethod &sequence_method() {
    static const Sequence method;
    return method;
}

}  // namespace xk::methods
