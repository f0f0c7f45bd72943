#include "cli/knockd_command.hpp"

#include <algorithm>
#include <charconv>

namespace xk::cli::knockd {
int iptables_family(std::string_view program) {
    std::string_view name = program.substr(program.rfind('/') + 1);
    for (std::string_view suffix : {"-legacy", "-nft"})
        if (name.size() > suffix.size() && name.ends_with(suffix))
            name.remove_suffix(suffix.size());
    return name == "ip6tables" ? 6 : name == "iptables" ? 4 : 0;
}

namespace {

// What sh (dash, system()'s /bin/sh) reads as more than a letter outside quotes: operators,
// expansions, globs, grouping. '#', '~' and '!' only matter at a word's start (or the
// command's), '=' in the first word (an assignment): checked where they matter.
constexpr std::string_view kOutside = "|&;<>()$`\\*?[]{}";
constexpr std::string_view kInDouble = "$`\\";  // still expanded inside "…"

class Splitter {
  public:
    // False (and problem set) when the character needs a shell.
    bool take(char ch) {
        const auto u = static_cast<unsigned char>(ch);
        if ((u < 0x20 && ch != '\t') || u == 0x7f) return fail("a control character");
        if (quote_) return quoted(ch);
        if (ch == ' ' || ch == '\t') {
            end_word();
            return true;
        }
        if (!in_word_ && (ch == '#' || ch == '~')) return fail(std::string("'") + ch + "'");
        if (!in_word_ && words_.empty() && ch == '!') return fail("'!'");
        in_word_ = true;
        if (ch == '\'' || ch == '"') {
            quote_ = ch;
            return true;
        }
        if (kOutside.find(ch) != std::string_view::npos) return fail(std::string("'") + ch + "'");
        word_ += ch;
        return true;
    }

    std::optional<std::vector<std::string>> finish(std::string &problem) {
        if (quote_) fail("an unterminated quote");
        end_word();
        if (problem_.empty() && words_.empty()) problem_ = "no command at all";
        // NAME=value before the program is an assignment to sh, not a program.
        if (problem_.empty()) {
            const std::string &first = words_[0];
            const size_t eq = first.find('='), slash = first.find('/');
            if (eq != std::string::npos && (slash == std::string::npos || eq < slash))
                problem_ = "a variable assignment ('" + first.substr(0, eq + 1) + "')";
        }
        problem = problem_;
        if (!problem_.empty()) return std::nullopt;
        return std::move(words_);
    }

  private:
    bool quoted(char ch) {
        if (ch == quote_) {
            quote_ = 0;
            return true;
        }
        if (quote_ == '"' && kInDouble.find(ch) != std::string_view::npos)
            return fail(std::string("'") + ch + "' inside double quotes");
        word_ += ch;
        return true;
    }
    void end_word() {
        if (in_word_) words_.push_back(std::move(word_));
        word_.clear();
        in_word_ = false;
    }
    bool fail(std::string why) {
        if (problem_.empty()) problem_ = std::move(why);
        return false;
    }

    std::vector<std::string> words_;
    std::string word_, problem_;
    bool in_word_ = false;  // a word has begun (maybe as an empty "")
    char quote_ = 0;
};

std::optional<uint16_t> port_number(std::string_view s) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < 1 || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
}

// "a,b,c" as each item, or an empty list when one is empty.
std::vector<std::string_view> items(std::string_view s) {
    std::vector<std::string_view> out;
    for (size_t at = 0; at <= s.size();) {
        const size_t comma = std::min(s.find(',', at), s.size());
        if (comma == at) return {};
        out.push_back(s.substr(at, comma - at));
        at = comma + 1;
    }
    return out;
}

bool iptables(std::string_view program) {
    return iptables_family(program) != 0;
}

struct RuleWords {
    AcceptRule rule;
    bool op = false, source = false, tcp = false, accept = false;
};

bool take_ports(std::string_view list, RuleWords &w) {
    const auto parts = items(list);
    for (std::string_view p : parts) {
        auto port = port_number(p);
        if (!port) return false;  // a range ("1000:2000") or a name stays a command
        w.rule.ports.push_back(*port);
    }
    return !parts.empty();
}

// `--state` / `--ctstate`: the rule must take new connections (what a grant is for).
bool new_state(std::string_view list) {
    bool fresh = false;
    for (std::string_view s : items(list)) {
        if (s != "NEW" && s != "ESTABLISHED" && s != "RELATED") return false;
        fresh = fresh || s == "NEW";
    }
    return fresh;
}

// One option with its argument at a[i] (i moves past what it takes); false: not the shape.
bool take_option(const std::vector<std::string> &a, size_t &i, RuleWords &w) {
    const std::string &o = a[i];
    if (o == "--syn") return true;
    if (o == "-w" || o == "--wait") {
        if (i + 1 < a.size() && port_number(a[i + 1])) ++i;
        return true;
    }
    if (i + 1 >= a.size()) return false;
    const std::string &v = a[++i];
    const bool add = o == "-A" || o == "--append" || o == "-I" || o == "--insert";
    if (add || o == "-D" || o == "--delete") {
        if (w.op || v != "INPUT") return false;
        w.op = true;
        w.rule.add = add;
        const bool numbered = (o == "-I" || o == "--insert") && i + 1 < a.size();
        if (numbered && port_number(a[i + 1])) ++i;  // -I INPUT 1: a position
        return true;
    }
    if (o == "-s" || o == "--source" || o == "--src")
        return w.source = v == "%IP%" || v == "%IP%/32" || v == "%IP%/128";
    if (o == "-p" || o == "--protocol") return w.tcp = v == "tcp" || v == "6";
    if (o == "--dport" || o == "--destination-port") {
        const auto port = port_number(v);
        if (port) w.rule.ports.push_back(*port);
        return port.has_value();
    }
    if (o == "--dports" || o == "--destination-ports") return take_ports(v, w);
    if (o == "-m" || o == "--match")
        return v == "tcp" || v == "state" || v == "conntrack" || v == "multiport";
    if (o == "--state" || o == "--ctstate") return new_state(v);
    if (o == "-j" || o == "--jump") return w.accept = v == "ACCEPT";
    return false;
}

}  // namespace

std::optional<std::vector<std::string>> shell_words(std::string_view command,
                                                    std::string &problem) {
    Splitter s;
    for (char ch : command)
        if (!s.take(ch)) break;
    return s.finish(problem);
}

std::optional<AcceptRule> accept_rule(const std::vector<std::string> &argv) {
    if (argv.empty() || !iptables(argv[0])) return std::nullopt;
    RuleWords w;
    for (size_t i = 1; i < argv.size(); ++i)
        if (!take_option(argv, i, w)) return std::nullopt;
    if (!w.op || !w.source || !w.tcp || !w.accept || w.rule.ports.empty()) return std::nullopt;
    std::sort(w.rule.ports.begin(), w.rule.ports.end());
    w.rule.ports.erase(std::unique(w.rule.ports.begin(), w.rule.ports.end()), w.rule.ports.end());
    return w.rule;
}

}  // namespace xk::cli::knockd
