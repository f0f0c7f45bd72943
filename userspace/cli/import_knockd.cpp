#include "cli/import_knockd.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "cli/knockd_command.hpp"
#include "policy/config.hpp"
#include "xdpknock/maps.h"

namespace xk::cli {
namespace {

using nlohmann::json;
using policy::PortRef;

constexpr uint32_t kCmdTimeout = 10;        // knockd's cmd_timeout default
constexpr uint32_t kSeqTimeout = 25;        // knockd's seq_timeout default
constexpr uint32_t kStandingGrant = 3600;   // for a rule knockd left in place
constexpr off_t kOneTimeMax = 1024 * 1024;  // bytes of a one_time_sequences file

// ---- reading knockd.conf (knockd 0.8's parseconfig: trimmed lines, '#' lines, [name]
// sections, "key = value" with the key case-insensitive)

struct Entry {
    int line = 0;
    std::string key;         // lower case, as written ("command")
    std::string value;       // trimmed
    bool has_value = false;  // there was an '='
};

struct Section {
    int line = 0;
    std::string name;
    std::map<std::string, Entry> keys;  // by canonical key ("start_command" for "command")

    const Entry *find(const char *key) const {
        auto it = keys.find(key);
        return it == keys.end() ? nullptr : &it->second;
    }
};

struct Conf {
    std::vector<Entry> options;
    std::vector<Section> sections;
};

[[noreturn]] void fail_at(int line, const std::string &problem) {
    throw std::runtime_error("knockd.conf:" + std::to_string(line) + ": " + problem);
}

[[noreturn]] void refuse(const Section &s, const Entry &e, const std::string &problem) {
    fail_at(e.line, "[" + s.name + "] " + e.key + " " + problem);
}

void note(KnockdImport &r, int line, const std::string &what) {
    r.notes.push_back("knockd.conf:" + std::to_string(line) + ": " + what);
}

// Some notes wait for every section to be read: show them all in the file's order.
void sort_notes(KnockdImport &r) {
    const auto line = [](const std::string &n) {
        int v = 0;
        const size_t at = n.find(':') + 1;
        std::from_chars(n.data() + at, n.data() + n.size(), v);
        return v;
    };
    std::stable_sort(r.notes.begin(), r.notes.end(),
                     [&](const std::string &a, const std::string &b) { return line(a) < line(b); });
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\r\f\v";
    const size_t b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// What a JSON string can hold and a log line can show: UTF-8, no control characters.
bool clean_text(const std::string &s) {
    if (std::any_of(s.begin(), s.end(), [](char ch) {
            const auto c = static_cast<unsigned char>(ch);
            return (c < 0x20 && ch != '\t') || c == 0x7f;
        }))
        return false;
    try {
        (void)json(s).dump();
    } catch (const json::exception &) {
        return false;
    }
    return true;
}

// knockd's keys with their aliases folded; nullptr for a key knockd does not know.
const char *canonical(const std::string &key) {
    static constexpr std::pair<std::string_view, const char *> kKeys[] = {
        {"sequence", "sequence"},
        {"one_time_sequences", "one_time_sequences"},
        {"seq_timeout", "seq_timeout"},
        {"tcpflags", "tcpflags"},
        {"target", "target"},
        {"start_command", "start_command"},
        {"command", "start_command"},
        {"start_command_6", "start_command_6"},
        {"command_6", "start_command_6"},
        {"stop_command", "stop_command"},
        {"stop_command_6", "stop_command_6"},
        {"cmd_timeout", "cmd_timeout"},
    };
    for (const auto &[name, canon] : kKeys)
        if (key == name) return canon;
    return nullptr;
}

void add_key(Section &s, Entry e) {
    const char *k = canonical(e.key);
    if (!k) refuse(s, e, "is not a knockd key (knockd refuses it too)");
    if (!e.has_value) refuse(s, e, "has no '= value'");
    if (const Entry *first = s.find(k))
        refuse(s, e, "is given twice (first at line " + std::to_string(first->line) + ")");
    s.keys.emplace(k, std::move(e));
}

void start_section(Conf &c, int line, std::string_view text) {
    const std::string name(text);
    if (name.empty()) fail_at(line, "[] names no section");
    if (!clean_text(name))
        fail_at(line, "a section name must be UTF-8 text without control characters");
    for (const Section &s : c.sections) {
        if (s.name == name) {
            fail_at(line, "[" + name + "] again (first at line " + std::to_string(s.line) +
                              "): each section becomes a range, and range names are unique");
        }
    }
    c.sections.push_back({line, name, {}});
}

Entry read_entry(int line, std::string_view text) {
    Entry e;
    e.line = line;
    const size_t eq = text.find('=');
    e.key = lower(trim(text.substr(0, eq)));
    e.has_value = eq != std::string_view::npos;
    if (e.has_value) e.value = trim(text.substr(eq + 1));
    if (!clean_text(e.key) || !clean_text(e.value))
        fail_at(line, "is not UTF-8 text without control characters");
    return e;
}

Conf read_conf(const std::string &text) {
    Conf c;
    bool options = false;
    std::string_view rest(text);
    for (int n = 1; !rest.empty(); ++n) {
        const size_t nl = rest.find('\n');
        const std::string_view line = trim(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (line.empty() || line[0] == '#') continue;
        if (line.size() >= 2 && line.front() == '[' && line.back() == ']') {
            const std::string_view name = line.substr(1, line.size() - 2);
            options = name == "options";
            if (!options) start_section(c, n, name);
            continue;
        }
        Entry e = read_entry(n, line);
        if (options) {
            c.options.push_back(std::move(e));
        } else if (c.sections.empty()) {
            fail_at(n, e.key + " outside a [section] (knockd refuses it too)");
        } else {
            add_key(c.sections.back(), std::move(e));
        }
    }
    return c;
}

// ---- [options]

std::string read_options(const Conf &c, const std::string &given, KnockdImport &r) {
    std::string iface;
    int iface_line = 0;
    for (const Entry &e : c.options) {
        if (e.key == "usesyslog" || e.key == "logfile" || e.key == "pidfile") {
            note(r, e.line, "[options] " + e.key + " not carried over: xdpknockd logs its own way");
        } else if (e.key == "interface") {
            if (!e.has_value) fail_at(e.line, "[options] interface has no '= value'");
            if (const char *problem = policy::interface_name_problem(e.value))
                fail_at(e.line, "[options] interface " + e.value + " " + problem);
            iface = e.value;
            iface_line = e.line;
        } else {
            fail_at(e.line,
                    "[options] " + e.key + " is not a knockd option (knockd refuses it too)");
        }
    }
    if (!given.empty()) {
        if (const char *problem = policy::interface_name_problem(given))
            throw std::runtime_error("interface " + given + " " + problem);
        if (iface_line)
            note(r, iface_line, "[options] interface " + iface + " gives way to -i " + given);
        return given;
    }
    return iface.empty() ? "eth0" : iface;  // knockd's default
}

// ---- a section's sequence

// A whole decimal number in [lo, hi]; never a prefix ("12abc"), a sign or a wrap-around.
uint32_t number(const Section &s, const Entry &e, uint32_t lo, uint32_t hi) {
    uint64_t v = 0;
    const char *b = e.value.data(), *end = b + e.value.size();
    auto [stop, ec] = std::from_chars(b, end, v);
    if (ec != std::errc() || stop != end || v < lo || v > hi) {
        refuse(s, e,
               "'" + e.value + "' is not a whole number in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
    }
    return static_cast<uint32_t>(v);
}

std::vector<PortRef> steps_of(const Section &s, const Entry &e, std::string_view text,
                              const std::string &what) {
    std::vector<PortRef> steps;
    try {
        steps = policy::parse_knockd_sequence(text);
    } catch (const policy::ConfigError &err) {
        refuse(s, e, what + ": " + err.what());
    }
    if (steps.size() > XK_SEQ_STEPS_MAX) {
        refuse(s, e,
               what + ": " + std::to_string(steps.size()) + " steps; the gate takes at most " +
                   std::to_string(XK_SEQ_STEPS_MAX));
    }
    return steps;
}

// The file as the daemon will read it; a regular file of bounded size (never a device).
std::string read_one_time_file(const Section &s, const Entry &e) {
    const std::string &path = e.value;
    if (path.empty() || path[0] != '/') refuse(s, e, "'" + path + "' is not an absolute path");
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) refuse(s, e, path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) refuse(s, e, path + " is not a regular file");
    if (st.st_size > kOneTimeMax) refuse(s, e, path + " is larger than 1 MiB");
    // An empty file holds no sequence; /proc and /sys files say size 0 and may never end.
    if (st.st_size == 0) refuse(s, e, path + " is empty");
    std::ifstream in(path, std::ios::binary);
    std::string text(static_cast<size_t>(st.st_size), '\0');
    if (!in.read(text.data(), st.st_size)) refuse(s, e, path + ": cannot read");
    return text;
}

// Every step of every unused sequence in the file (as methods/sequence.cpp reads it: '#'
// starts a comment, and knockd comments out the lines it used).
std::vector<PortRef> one_time_steps(const Section &s, const Entry &e) {
    const std::string text = read_one_time_file(s, e);
    std::vector<PortRef> all;
    size_t sequences = 0;
    std::string_view rest(text);
    for (int n = 1; !rest.empty(); ++n) {
        const size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        line = line.substr(0, line.find('#'));
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        const auto steps = steps_of(s, e, line, e.value + ":" + std::to_string(n));
        all.insert(all.end(), steps.begin(), steps.end());
        ++sequences;
    }
    if (sequences == 0) refuse(s, e, e.value + " holds no unused sequence");
    return all;
}

// knockd's tcpflags ("syn,!ack") in the config's spelling, each flag checked.
std::string tcp_flags(const Section &s, const Entry &e) {
    static constexpr std::string_view kFlags[] = {"fin", "syn", "rst", "psh", "ack", "urg"};
    std::string out;
    std::vector<std::string> seen;
    for (std::string_view rest = e.value;;) {
        const size_t comma = rest.find(',');
        const std::string word = lower(trim(rest.substr(0, comma)));
        const std::string name = word.empty() || word[0] != '!' ? word : word.substr(1);
        if (std::find(std::begin(kFlags), std::end(kFlags), name) == std::end(kFlags))
            refuse(s, e, "'" + word + "' is not fin, syn, rst, psh, ack or urg (or !flag)");
        if (std::find(seen.begin(), seen.end(), name) != seen.end())
            refuse(s, e, "names " + name + " twice");
        seen.push_back(name);
        out += (out.empty() ? "" : ",") + word;
        if (comma == std::string_view::npos) return out;
        rest = rest.substr(comma + 1);
    }
}

// sequence or one_time_sequences, seq_timeout, tcpflags; the steps for the cross checks.
std::vector<PortRef> carry_sequence(const Section &s, json &range, KnockdImport &r) {
    const Entry *seq = s.find("sequence"), *once = s.find("one_time_sequences");
    if (seq && once)
        refuse(s, *once,
               "and sequence (line " + std::to_string(seq->line) + ") both given: keep one");
    if (!seq && !once) fail_at(s.line, "[" + s.name + "] has no sequence or one_time_sequences");
    std::vector<PortRef> steps;
    if (seq) {
        steps = steps_of(s, *seq, seq->value, "'" + seq->value + "'");
        json names = json::array();
        for (const PortRef &p : steps) names.push_back(policy::format_port(p));
        range["sequence"] = names;
    } else {
        steps = one_time_steps(s, *once);
        range["one_time_sequences"] = once->value;
        note(r, once->line,
             "[" + s.name + "] one_time_sequences: each sequence of " + once->value +
                 " works once, as in knockd; xdpknockd records the used ones in its state_dir "
                 "and leaves the file alone (knockd commented them out)");
    }
    const Entry *timeout = s.find("seq_timeout");
    range["seq_timeout"] = timeout ? number(s, *timeout, 1, 3600) : kSeqTimeout;
    if (const Entry *flags = s.find("tcpflags")) range["tcp_flags"] = tcp_flags(s, *flags);
    return steps;
}

// ---- a section's commands

// What one address family's start/stop commands do.
struct Plan {
    std::vector<std::string> open, closes;  // "tcp/22": the start rule's ports, -A or -D
    json on_authorize, on_expire;           // null: none
    bool stop_undoes_start = false;         // stop_command deletes the start's rule
    int rule_family = 0;                    // 4 iptables, 6 ip6tables: whom its rule admits

    bool same(const Plan &o) const {
        return open == o.open && closes == o.closes && on_authorize == o.on_authorize &&
               on_expire == o.on_expire && stop_undoes_start == o.stop_undoes_start;
    }
    bool empty() const {
        return open.empty() && closes.empty() && on_authorize.is_null() && on_expire.is_null();
    }
};

std::vector<std::string> command_words(const Section &s, const Entry &e) {
    std::string problem;
    auto words = knockd::shell_words(e.value, problem);
    if (!words) {
        refuse(s, e,
               "needs a shell: " + problem +
                   " (knockd ran it with /bin/sh; xdpknock runs hooks without one: put it in a "
                   "script that takes %IP% as an argument, and name the script)");
    }
    return *words;
}

// A shell handed the command as text (`sh -c '… %IP% …'`, also behind env or sudo) is what
// knockd did: the import never carries a shell with %IP% inside.
bool shell_text(const std::vector<std::string> &argv) {
    static constexpr std::string_view kShells[] = {"sh",   "bash", "dash", "zsh",  "ksh",
                                                   "mksh", "ash",  "posh", "yash", "busybox",
                                                   "csh",  "tcsh", "fish"};
    bool shell = false;
    for (const std::string &w : argv) {
        const std::string_view name = std::string_view(w).substr(w.rfind('/') + 1);
        if (std::find(std::begin(kShells), std::end(kShells), name) != std::end(kShells)) {
            shell = true;
        } else if (shell && w.size() > 1 && w[0] == '-' && w[1] != '-' &&
                   w.find('c') != std::string::npos) {
            return true;
        }
    }
    return false;
}

// A command as a hook's argv: an absolute executable, no placeholder but knockd's %IP%.
json hook(const Section &s, const Entry &e, const std::vector<std::string> &argv) {
    const std::string &program = argv[0];
    if (program.empty() || program[0] != '/') {
        refuse(s, e,
               "'" + program +
                   "' is not an absolute path (knockd's shell searched PATH; write the "
                   "program's full path)");
    }
    if (program.find('%') != std::string::npos) refuse(s, e, "the program cannot hold %IP%");
    if (access(program.c_str(), X_OK) != 0)
        refuse(s, e, program + " is not an executable here: " + std::strerror(errno));
    if (shell_text(argv)) {
        refuse(s, e,
               "runs a shell on text (-c): put the commands in a script that takes %IP% as an "
               "argument, and name the script");
    }
    for (const std::string &word : argv) {
        std::string rest = word;
        for (size_t at; (at = rest.find("%IP%")) != std::string::npos;) rest.erase(at, 4);
        if (rest.find('%') != std::string::npos) {
            refuse(s, e,
                   "'" + word +
                       "': knockd replaces only %IP%, and xdpknock would read another '%' as "
                       "one of its own placeholders");
        }
    }
    return json(argv);
}

std::vector<std::string> port_names(const std::vector<uint16_t> &ports) {
    std::vector<std::string> out;
    for (uint16_t p : ports) out.push_back("tcp/" + std::to_string(p));
    return out;
}

Plan plan_of(const Section &s, const Entry *start, const Entry *stop) {
    Plan p;
    std::optional<knockd::AcceptRule> rule;
    if (start && !start->value.empty()) {
        const auto argv = command_words(s, *start);
        rule = knockd::accept_rule(argv);
        if (!rule) {
            p.on_authorize = hook(s, *start, argv);
        } else {
            (rule->add ? p.open : p.closes) = port_names(rule->ports);
            p.rule_family = knockd::iptables_family(argv[0]);
        }
    }
    if (stop && !stop->value.empty()) {
        const auto argv = command_words(s, *stop);
        const auto undo = knockd::accept_rule(argv);
        p.stop_undoes_start = rule && rule->add && undo && !undo->add && undo->ports == rule->ports;
        if (!p.stop_undoes_start) p.on_expire = hook(s, *stop, argv);
    }
    return p;
}

// knockd runs start_command_6 / stop_command_6 for IPv6 knockers (an empty one: nothing),
// the plain ones when absent. xdpknock runs one set for both families: they must agree, or
// one must do nothing, and the range then takes the other family's sources only.
json family_plan(const Section &s, Plan &plan, KnockdImport &r) {
    const Entry *start = s.find("start_command"), *stop = s.find("stop_command");
    const Entry *start6 = s.find("start_command_6"), *stop6 = s.find("stop_command_6");
    plan = plan_of(s, start, stop);
    if (!start6 && !stop6) {
        // One command for both families, but an iptables rule never admits an IPv6 %IP%
        // (nor ip6tables an IPv4 one): under knockd that family got nothing.
        const Entry *cmd = start ? start : stop;
        if (plan.rule_family == 4 && cmd) {
            note(r, cmd->line,
                 "[" + s.name + "] " + cmd->key +
                     " is an iptables rule, which admits IPv4 knockers only: "
                     "so does the range");
            return json::array({"0.0.0.0/0"});
        }
        if (plan.rule_family == 6 && cmd) {
            note(r, cmd->line,
                 "[" + s.name + "] " + cmd->key +
                     " is an ip6tables rule, which admits IPv6 knockers only: "
                     "so does the range");
            return json::array({"::/0"});
        }
        return json::array({"0.0.0.0/0", "::/0"});
    }
    const Plan v6 = plan_of(s, start6 ? start6 : start, stop6 ? stop6 : stop);
    const Entry &six = start6 ? *start6 : *stop6;
    const std::string head = "[" + s.name + "] " + six.key;
    if (v6.same(plan)) {
        note(r, six.line, head + " does what the IPv4 command does: one range for both");
        return json::array({"0.0.0.0/0", "::/0"});
    }
    if (v6.empty()) {
        note(r, six.line, head + ": IPv6 knockers ran nothing, so the range takes IPv4 only");
        return json::array({"0.0.0.0/0"});
    }
    if (plan.empty()) {
        plan = v6;
        note(r, six.line, head + ": IPv4 knockers ran nothing, so the range takes IPv6 only");
        return json::array({"::/0"});
    }
    refuse(s, six,
           "does something other than the IPv4 command; xdpknock runs one set of commands for "
           "both families (a script can tell them apart by %IP%)");
}

// The command key as the file spells it ("command"), and its line; the _6 one if alone.
struct Said {
    std::string key;
    int line;
};

Said said(const Section &s, const char *key, const char *key6) {
    const Entry *e = s.find(key);
    if (!e) e = s.find(key6);
    return e ? Said{e->key, e->line} : Said{key, s.line};
}

int line_of(const Section &s, const char *key, const char *key6) {
    return said(s, key, key6).line;
}

void unused_cmd_timeout(const Section &s, KnockdImport &r) {
    if (const Entry *cmd = s.find("cmd_timeout")) {
        (void)number(s, *cmd, 1, 86400);
        note(r, cmd->line,
             "[" + s.name + "] cmd_timeout without stop_command: ignored, as knockd does");
    }
}

// cmd_timeout when a stop command ends the grant; else knockd left the rule in place and
// the grant stands for kStandingGrant (`standing`: its note waits for the close sections).
uint32_t grant_timeout(const Section &s, const Plan &p, bool &standing, KnockdImport &r) {
    const Entry *cmd = s.find("cmd_timeout");
    if (p.stop_undoes_start || !p.on_expire.is_null())
        return cmd ? number(s, *cmd, 1, 86400) : kCmdTimeout;
    unused_cmd_timeout(s, r);
    if (p.open.empty()) return kCmdTimeout;
    standing = true;
    return kStandingGrant;
}

void hook_notes(const Section &s, const Plan &p, uint32_t timeout, KnockdImport &r) {
    const Said start = said(s, "start_command", "start_command_6");
    const Said stop = said(s, "stop_command", "stop_command_6");
    const std::string head = "[" + s.name + "] ", ports = json(p.open).dump();
    if (!p.open.empty()) {
        note(r, start.line,
             head + start.key + " becomes \"open\": " + ports + " for " + std::to_string(timeout) +
                 " s: the gate lets the knocker in itself, the "
                 "firewall rule is not run");
    }
    if (p.stop_undoes_start) {
        note(r, stop.line, head + stop.key + " deletes that rule: the grant's expiry does it now");
    }
    if (!p.on_authorize.is_null()) {
        note(r, start.line, head + start.key + " runs as the on_authorize hook, without a shell");
    }
    if (!p.on_expire.is_null()) {
        note(r, stop.line,
             head + stop.key +
                 " runs as the on_expire hook, without a shell, when the grant "
                 "ends (" +
                 std::to_string(timeout) + " s)");
    }
}

// ---- sections into ranges

struct Built {
    const Section *section = nullptr;
    json range;                  // null: not carried over
    Plan plan;                   // closes set: a closing section (a revoke range)
    bool standing = false;       // knockd left its rule in place: a kStandingGrant grant
    std::vector<PortRef> steps;  // every step it counts, for the cross checks
    int steps_line = 0;
};

// knockd's closeSSH (its command deletes a rule): a revoke range, which grants nothing;
// revoke_note() checks, once every section is read, that another section adds the rule.
void revoke_range(Built &b, json range, const json &sources, KnockdImport &r) {
    const Section &s = *b.section;
    if (!b.plan.on_expire.is_null()) {
        fail_at(line_of(s, "stop_command", "stop_command_6"),
                "[" + s.name +
                    "] stop_command after a command that deletes a rule: it becomes a "
                    "revoke sequence, which grants nothing, so the stop_command would never run");
    }
    unused_cmd_timeout(s, r);
    range["sources"] = sources;
    range["revoke"] = true;
    b.range = std::move(range);
}

Built carry_section(const Section &s, KnockdImport &r) {
    Built b;
    b.section = &s;
    if (const Entry *t = s.find("target")) {
        refuse(s, *t,
               "has no xdpknock equivalent (a sequence counts on every address of the "
               "interface); remove the line knowingly before importing");
    }
    json range = {{"name", s.name}, {"method", "sequence"}};
    b.steps = carry_sequence(s, range, r);
    const Entry *seq = s.find("sequence");
    b.steps_line = seq ? seq->line : s.find("one_time_sequences")->line;
    const json sources = family_plan(s, b.plan, r);
    if (!b.plan.closes.empty()) {
        revoke_range(b, std::move(range), sources, r);
        return b;
    }
    if (b.plan.empty()) {
        note(r, s.line, "[" + s.name + "] runs no command: not carried over");
        return b;
    }
    const uint32_t timeout = grant_timeout(s, b.plan, b.standing, r);
    range["open"] = b.plan.open;  // empty until hooks_only() for a hooks-only section
    range["timeout"] = timeout;
    range["sources"] = sources;
    json hooks = json::object();
    if (!b.plan.on_authorize.is_null()) hooks["on_authorize"] = b.plan.on_authorize;
    if (!b.plan.on_expire.is_null()) hooks["on_expire"] = b.plan.on_expire;
    if (!hooks.empty()) range["hooks"] = hooks;
    hook_notes(s, b.plan, timeout, r);
    b.range = std::move(range);
    return b;
}

std::string section_list(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

// The sections whose open rule holds one of `ports`, as "[a], [b]".
std::string openers(const std::vector<std::string> &ports, const std::vector<Built> &all) {
    std::vector<std::string> names;
    for (const Built &o : all) {
        if (o.range.is_null() || o.plan.open.empty()) continue;
        if (std::any_of(ports.begin(), ports.end(), [&](const std::string &p) {
                return std::find(o.plan.open.begin(), o.plan.open.end(), p) != o.plan.open.end();
            }))
            names.push_back("[" + o.section->name + "]");
    }
    return section_list(names);
}

// knockd's closeSSH deletes the rule another section adds; here it ends the knocker's
// grants. A rule no section adds was opened outside knockd: no grant of ours holds it, so
// the import cannot take it away, and refuses rather than drop that close silently.
void revoke_note(const Built &b, const std::vector<Built> &all,
                 const std::vector<std::string> &services, KnockdImport &r) {
    const Section &s = *b.section;
    const Said cmd = said(s, "start_command", "start_command_6");
    std::vector<std::string> foreign, others;
    for (const std::string &p : b.plan.closes)
        if (std::find(services.begin(), services.end(), p) == services.end()) foreign.push_back(p);
    for (const std::string &p : services)
        if (std::find(b.plan.closes.begin(), b.plan.closes.end(), p) == b.plan.closes.end())
            others.push_back(p);
    if (!foreign.empty()) {
        fail_at(cmd.line, "[" + s.name + "] " + cmd.key + " deletes a rule for " +
                              section_list(foreign) +
                              " that no section adds: xdpknock has no grant of it to revoke. "
                              "Remove the section knowingly before importing");
    }
    note(r, cmd.line,
         "[" + s.name + "] " + cmd.key + " deletes the rule " + openers(b.plan.closes, all) +
             " adds: it becomes a revoke sequence (\"revoke\": true): completing it ends every "
             "grant the knocker holds on this gateway at once, with their on_expire hooks" +
             (others.empty() ? std::string()
                             : " (" + section_list(others) + " too, which it did not delete)"));
}

// knockd left the rule in place until a close section (or a hand) deleted it.
void standing_note(const Built &b, const std::vector<Built> &all, KnockdImport &r) {
    const Section &s = *b.section;
    std::vector<std::string> closers;
    for (const Built &o : all) {
        if (o.range.is_null() || o.plan.closes.empty()) continue;
        if (std::any_of(b.plan.open.begin(), b.plan.open.end(), [&](const std::string &p) {
                return std::find(o.plan.closes.begin(), o.plan.closes.end(), p) !=
                       o.plan.closes.end();
            }))
            closers.push_back("[" + o.section->name + "]");
    }
    const std::string close = closers.empty() ? std::string()
                                              : "; " + section_list(closers) +
                                                    "'s sequence revokes it sooner, as it "
                                                    "deleted the rule";
    note(r, line_of(s, "start_command", "start_command_6"),
         "[" + s.name + "] knockd left the rule in place (no stop_command); xdpknock grants " +
             "expire: " + std::to_string(kStandingGrant) +
             " s (set \"timeout\", at most 86400, to taste)" + close);
}

// A range must open a gated port or "*" (every gated port): for a section whose commands
// all run as hooks, "*" is right only when the config gates nothing.
void hooks_only(Built &b, const std::vector<std::string> &services, KnockdImport &r) {
    const Section &s = *b.section;
    if (!services.empty()) {
        fail_at(line_of(s, "start_command", "stop_command"),
                "[" + s.name +
                    "] opens no port xdpknock gates (its commands run as hooks), "
                    "and a range must open one: \"*\" would also grant " +
                    section_list(services) +
                    " to its knockers. Remove it (or the others) knowingly before importing");
    }
    b.range["open"] = json::array({"*"});
    note(r, s.line,
         "[" + s.name +
             "] opens \"*\", which gates nothing here (no service is gated): its "
             "hooks do the work, as knockd's commands did");
}

// What the gate's sequence tables hold (policy::parse_config checks the same): a step is
// never a gated port (the gate drops every packet to a step), and a few ranges share one.
void check_steps(const std::vector<Built> &carried, const std::vector<std::string> &services) {
    std::map<std::string, size_t> uses;
    for (const Built &b : carried) {
        const Section &s = *b.section;
        std::vector<std::string> mine;
        for (const PortRef &p : b.steps) {
            const std::string step = policy::format_port(p);
            if (std::find(mine.begin(), mine.end(), step) != mine.end()) continue;
            mine.push_back(step);
            if (std::find(services.begin(), services.end(), step) != services.end()) {
                fail_at(b.steps_line, "[" + s.name + "] step " + step +
                                          " is also a port a section opens: the gate drops "
                                          "every packet to a step");
            }
            if (++uses[step] > XK_SEQ_PORT_RANGES) {
                fail_at(b.steps_line, "[" + s.name + "] step " + step + " is a step of more than " +
                                          std::to_string(XK_SEQ_PORT_RANGES) + " sections");
            }
        }
    }
}

}  // namespace

KnockdImport import_knockd(const std::string &knockd_conf, const std::string &interface) {
    KnockdImport r;
    const Conf conf = read_conf(knockd_conf);
    const std::string iface = read_options(conf, interface, r);
    std::vector<Built> built;
    for (const Section &s : conf.sections) built.push_back(carry_section(s, r));

    std::vector<std::string> services;
    for (const Built &b : built)
        if (!b.range.is_null())
            services.insert(services.end(), b.plan.open.begin(), b.plan.open.end());
    std::sort(services.begin(), services.end());
    services.erase(std::unique(services.begin(), services.end()), services.end());

    std::vector<Built> carried;
    for (Built &b : built) {
        if (b.range.is_null()) continue;
        if (!b.plan.closes.empty()) {
            revoke_note(b, built, services, r);
        } else if (b.plan.open.empty()) {
            hooks_only(b, services, r);
        } else if (b.standing) {
            standing_note(b, built, r);
        }
        carried.push_back(b);
    }
    if (carried.empty()) throw std::runtime_error("knockd.conf: no section carries over");
    if (carried.size() > XK_SEQ_RANGES_MAX) {
        fail_at(carried[XK_SEQ_RANGES_MAX].section->line,
                "more than " + std::to_string(XK_SEQ_RANGES_MAX) + " sections carry over");
    }
    check_steps(carried, services);

    json ranges = json::array(), gated = json::array();
    for (const Built &b : carried) ranges.push_back(b.range);
    for (const auto &p : services) gated.push_back({{"name", p}, {"port", p}});
    r.config = {
        {"interfaces", json::array({{{"name", iface}}})}, {"services", gated}, {"ranges", ranges}};
    sort_notes(r);
    return r;
}

}  // namespace xk::cli
