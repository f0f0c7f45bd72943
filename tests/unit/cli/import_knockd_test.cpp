#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/import_knockd.hpp"
#include "cli/knockd_command.hpp"
#include "policy/config.hpp"

using nlohmann::json;
using xk::cli::import_knockd;
using xk::cli::KnockdImport;

namespace {

// Debian's /etc/knockd.conf (knockd 0.8-2), as the package installs it.
const char *kDebianDefault = R"([options]
	UseSyslog

[openSSH]
	sequence    = 7000,8000,9000
	seq_timeout = 5
	command     = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
	tcpflags    = syn

[closeSSH]
	sequence    = 9000,8000,7000
	seq_timeout = 5
	command     = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
	tcpflags    = syn

[openHTTPS]
	sequence    = 12345,54321,24680,13579
	seq_timeout = 5
	command     = /usr/local/sbin/knock_add -i -c INPUT -p tcp -d 443 -f %IP%
	tcpflags    = syn
)";

// knockd(1) example 2, with a rule for one port (the man page's opens every TCP port).
const char *kOpenClose = R"([options]
	logfile = /var/log/knockd.log
	Interface = eth1

[opencloseSSH]
	sequence      = 2222:udp,3333:tcp,4444:udp
	seq_timeout   = 15
	tcpflags      = syn,ack
	start_command = /usr/sbin/iptables -I INPUT 1 -s %IP% -p tcp -m conntrack --ctstate NEW --destination-port 22 -j ACCEPT
	cmd_timeout   = 5
	stop_command  = /usr/sbin/iptables -D INPUT -s %IP% -p tcp -m conntrack --ctstate NEW --destination-port 22 -j ACCEPT
)";

// What the importer writes, the daemon loads.
xk::policy::Config loads(const KnockdImport &r) {
    try {
        return xk::policy::parse_config(r.config.dump());
    } catch (const std::exception &e) {
        ADD_FAILURE() << "does not load: " << e.what() << "\n" << r.config.dump(2);
        throw;
    }
}

bool noted(const KnockdImport &r, const std::string &prefix, const std::string &words) {
    for (const auto &n : r.notes)
        if (n.rfind(prefix, 0) == 0 && n.find(words) != std::string::npos) return true;
    return false;
}

// The import must fail naming the line first, then the key (or what is wrong) after.
void expect_refused(const std::string &conf, const std::string &where, const std::string &what) {
    try {
        import_knockd(conf, "");
        ADD_FAILURE() << "accepted:\n" << conf;
    } catch (const std::runtime_error &e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind(where, 0), 0u) << m;
        EXPECT_NE(m.find(what), std::string::npos) << m;
    }
}

std::string section(const std::string &body) {
    return "[door]\n    sequence = 7000,8000,9000\n" + body;
}

// A file for one_time_sequences, removed at the end of the test.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string &text) {
        char name[] = "/tmp/import_knockd_test.XXXXXX";
        const int fd = mkstemp(name);
        if (fd >= 0) close(fd);
        path = name;
        std::ofstream(path) << text;
    }
    ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST(ImportKnockd, DebianDefaultOpenSshGrantsAndCloseSshRevokes) {
    // Without openHTTPS: its program does not exist here (see the next test).
    const std::string conf(kDebianDefault, std::string(kDebianDefault).find("[openHTTPS]"));
    const KnockdImport r = import_knockd(conf, "");
    const json &c = r.config;
    EXPECT_EQ(c["interfaces"], json::parse(R"([{"name": "eth0"}])"));  // knockd's default
    EXPECT_EQ(c["services"], json::parse(R"([{"name": "tcp/22", "port": "tcp/22"}])"));
    ASSERT_EQ(c["ranges"].size(), 2u);
    EXPECT_EQ(c["ranges"][0], json::parse(R"({
        "name": "openSSH", "method": "sequence",
        "sequence": ["tcp/7000", "tcp/8000", "tcp/9000"], "seq_timeout": 5, "tcp_flags": "syn",
        "open": ["tcp/22"], "timeout": 3600, "sources": ["0.0.0.0/0"]})"));
    // closeSSH's -D: a revoke range with its own sequence, and no "open" or "timeout".
    EXPECT_EQ(c["ranges"][1], json::parse(R"({
        "name": "closeSSH", "method": "sequence",
        "sequence": ["tcp/9000", "tcp/8000", "tcp/7000"], "seq_timeout": 5, "tcp_flags": "syn",
        "sources": ["0.0.0.0/0"], "revoke": true})"));
    EXPECT_TRUE(noted(r, "knockd.conf:2:", "usesyslog not carried over"));
    // An iptables rule never admitted an IPv6 knocker under knockd: nor does the range.
    EXPECT_TRUE(noted(r, "knockd.conf:7:", "admits IPv4 knockers only"));
    EXPECT_TRUE(noted(r, "knockd.conf:7:", "3600 s"));  // knockd never took the rule away...
    EXPECT_TRUE(noted(r, "knockd.conf:7:", "[closeSSH]'s sequence revokes it sooner"));
    EXPECT_TRUE(noted(r, "knockd.conf:13:", "[closeSSH] command deletes the rule [openSSH] adds"));
    EXPECT_TRUE(noted(r, "knockd.conf:13:", "revoke sequence"));
    EXPECT_FALSE(noted(r, "knockd.conf:13:", "too, which it did not delete"));
    for (size_t i = 1; i < r.notes.size(); ++i)  // in the file's order
        EXPECT_LE(std::stoi(r.notes[i - 1].substr(12)), std::stoi(r.notes[i].substr(12)));

    const auto cfg = loads(r);
    ASSERT_EQ(cfg.ranges.size(), 2u);
    const auto &seq = cfg.ranges[0].sequence;
    ASSERT_EQ(seq.steps.size(), 3u);
    EXPECT_EQ(seq.steps[2], (xk::policy::PortRef{6, 9000}));
    EXPECT_EQ(seq.timeout_s, 5u);
    EXPECT_EQ(seq.tcp_flags_mask, 0x02);
    EXPECT_EQ(seq.tcp_flags_want, 0x02);
    EXPECT_FALSE(seq.revoke);
    EXPECT_EQ(cfg.ranges[0].timeout_s, 3600u);
    EXPECT_TRUE(cfg.ranges[0].hooks.empty());
    const auto &close = cfg.ranges[1];
    EXPECT_EQ(close.name, "closeSSH");
    EXPECT_TRUE(close.sequence.revoke);
    EXPECT_TRUE(close.open.empty());
    EXPECT_TRUE(close.hooks.empty());
    ASSERT_EQ(close.sequence.steps.size(), 3u);
    EXPECT_EQ(close.sequence.steps[0], (xk::policy::PortRef{6, 9000}));
    EXPECT_EQ(close.sequence.timeout_s, 5u);
    EXPECT_EQ(close.sequence.tcp_flags_want, 0x02);
    EXPECT_EQ(close.sources.size(), 1u);
}

TEST(ImportKnockd, CloseSectionsRevokeOnlyWhatAnotherSectionOpens) {
    const std::string open22 =
        "[open22]\n sequence = 7000,8000\n command = /sbin/iptables -A INPUT -s %IP% -p tcp "
        "--dport 22 -j ACCEPT\n";
    const std::string open443 =
        "[open443]\n sequence = 7100,8100\n command = /sbin/iptables -I INPUT -s %IP% -p tcp "
        "--dport 443 -j ACCEPT\n";
    const std::string close22 =
        "[close22]\n sequence = 8000:udp,7000:udp\n command = /sbin/iptables -D INPUT -s %IP% "
        "-p tcp --dport 22 -j ACCEPT\n";
    // The revoke ends every grant of the knocker, tcp/443 too: said, never silent.
    const KnockdImport r = import_knockd(open22 + open443 + close22, "");
    ASSERT_EQ(r.config["ranges"].size(), 3u);
    EXPECT_EQ(r.config["ranges"][2]["revoke"], true);
    EXPECT_EQ(r.config["ranges"][2]["sequence"], json({"udp/8000", "udp/7000"}));
    EXPECT_FALSE(r.config["ranges"][2].contains("open"));
    EXPECT_TRUE(noted(r, "knockd.conf:9:", "tcp/443 too, which it did not delete"));
    EXPECT_TRUE(noted(r, "knockd.conf:3:", "[close22]'s sequence revokes it sooner"));
    EXPECT_FALSE(noted(r, "knockd.conf:6:", "revokes it sooner"));  // no close for 443
    const auto cfg = loads(r);
    EXPECT_TRUE(cfg.ranges[2].sequence.revoke);
    EXPECT_FALSE(cfg.ranges[1].sequence.revoke);

    // A rule no section adds: nothing of ours to revoke, so refused (not dropped).
    expect_refused(section("    command = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j "
                           "ACCEPT\n"),
                   "knockd.conf:3: [door] command deletes a rule for tcp/22", "no section adds");
    expect_refused(open22 +
                       "[close]\n sequence = 9000\n command = /sbin/iptables -D INPUT -s %IP% "
                       "-p tcp -m multiport --dports 22,25 -j ACCEPT\n",
                   "knockd.conf:6: [close] command deletes a rule for tcp/25", "no section adds");
    // A revoke grants nothing: a stop_command would never run.
    expect_refused(open22 + close22 + " cmd_timeout = 5\n stop_command = /bin/true\n",
                   "knockd.conf:8: [close22] stop_command", "never run");
    // Its steps are steps like any other: never a gated port.
    expect_refused(open22 +
                       "[close]\n sequence = 22,9000\n command = /sbin/iptables -D INPUT -s "
                       "%IP% -p tcp --dport 22 -j ACCEPT\n",
                   "knockd.conf:5: [close] step tcp/22", "gate drops");
    // cmd_timeout without stop_command: ignored, as knockd does; IPv4 only when _6 is empty.
    const KnockdImport v4 =
        import_knockd(open22 + close22 + " cmd_timeout = 5\n command_6 =\n", "");
    EXPECT_TRUE(noted(v4, "knockd.conf:7:", "cmd_timeout without stop_command: ignored"));
    EXPECT_EQ(v4.config["ranges"][1]["sources"], json({"0.0.0.0/0"}));
    EXPECT_FALSE(v4.config["ranges"][1].contains("timeout"));
    EXPECT_TRUE(loads(v4).ranges[1].sequence.revoke);
}

TEST(ImportKnockd, DebianDefaultOpenHttpsIsRefusedNamingItsLine) {
    // knock_add is not installed: a hook must be an executable.
    expect_refused(kDebianDefault, "knockd.conf:19: [openHTTPS] command",
                   "/usr/local/sbin/knock_add is not an executable");
    // Were it one, its range would open nothing the gate holds, and "*" would open ssh too.
    std::string conf = kDebianDefault;
    conf.replace(conf.find("/usr/local/sbin/knock_add"), 25, "/bin/echo");
    expect_refused(conf, "knockd.conf:19: [openHTTPS]", "\"*\" would also grant tcp/22");
}

TEST(ImportKnockd, StartStopWithCmdTimeoutIsAGrantThatExpires) {
    const KnockdImport r = import_knockd(kOpenClose, "");
    const json &range = r.config["ranges"][0];
    EXPECT_EQ(r.config["interfaces"][0]["name"], "eth1");
    EXPECT_EQ(range["sequence"], json({"udp/2222", "tcp/3333", "udp/4444"}));
    EXPECT_EQ(range["seq_timeout"], 15);
    EXPECT_EQ(range["tcp_flags"], "syn,ack");
    EXPECT_EQ(range["open"], json({"tcp/22"}));
    EXPECT_EQ(range["timeout"], 5);  // cmd_timeout
    EXPECT_FALSE(range.contains("hooks"));
    EXPECT_TRUE(noted(r, "knockd.conf:2:", "logfile not carried over"));
    EXPECT_TRUE(noted(r, "knockd.conf:11:", "stop_command deletes that rule"));
    const auto cfg = loads(r);
    EXPECT_EQ(cfg.ranges[0].sequence.steps[0], (xk::policy::PortRef{17, 2222}));
    EXPECT_EQ(cfg.ranges[0].sequence.tcp_flags_want, 0x12);

    // Without cmd_timeout: knockd's 10 s. -i wins over [options] Interface.
    std::string conf = kOpenClose;
    conf.erase(conf.find("\tcmd_timeout"),
               conf.find("\tstop_command") - conf.find("\tcmd_timeout"));
    const KnockdImport d = import_knockd(conf, "gw-out");
    EXPECT_EQ(d.config["ranges"][0]["timeout"], 10);
    EXPECT_EQ(d.config["interfaces"][0]["name"], "gw-out");
    loads(d);
}

TEST(ImportKnockd, RuleShapesTheImportUnderstands) {
    const char *shapes[] = {
        "/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT",
        "iptables --append INPUT --source %IP%/32 --protocol tcp -m state --state NEW --dport 22 "
        "--jump ACCEPT",
        "/usr/sbin/iptables-nft -w -I INPUT -s %IP% -p tcp --syn --destination-port 22 -j ACCEPT",
        "/usr/sbin/ip6tables -I INPUT 3 -s %IP% -p tcp -m tcp --dport 22 -j ACCEPT",
    };
    for (const char *cmd : shapes) {
        const KnockdImport r =
            import_knockd(section("    command = " + std::string(cmd) + "\n"), "");
        EXPECT_EQ(r.config["ranges"][0]["open"], json({"tcp/22"})) << cmd;
        EXPECT_FALSE(r.config["ranges"][0].contains("hooks")) << cmd;
        loads(r);
    }
    const KnockdImport m = import_knockd(
        section("    command = /sbin/iptables -A INPUT -s %IP% -p tcp -m multiport --dports "
                "443,22,443 -j ACCEPT\n"),
        "");
    EXPECT_EQ(m.config["ranges"][0]["open"], json({"tcp/22", "tcp/443"}));
    EXPECT_EQ(m.config["services"].size(), 2u);
    loads(m);
}

TEST(ImportKnockd, OtherCommandsBecomeHooksWithoutAShell) {
    const KnockdImport r = import_knockd(section(R"(    seq_timeout = 10
    start_command = /bin/echo  opened for '%IP%' "two words" ''
    cmd_timeout = 20
    stop_command = /bin/echo closed %IP%
)"),
                                         "");
    const json &range = r.config["ranges"][0];
    EXPECT_EQ(range["hooks"]["on_authorize"],
              json({"/bin/echo", "opened", "for", "%IP%", "two words", ""}));
    EXPECT_EQ(range["hooks"]["on_expire"], json({"/bin/echo", "closed", "%IP%"}));
    EXPECT_EQ(range["timeout"], 20);
    EXPECT_EQ(range["open"], json({"*"}));  // the config gates nothing: the hooks do the work
    EXPECT_EQ(r.config["services"], json::array());
    EXPECT_TRUE(noted(r, "knockd.conf:4:", "on_authorize hook"));
    EXPECT_TRUE(noted(r, "knockd.conf:6:", "on_expire hook"));
    const auto cfg = loads(r);
    EXPECT_EQ(cfg.ranges[0].hooks.on_expire.size(), 3u);

    // A rule the import does not map (udp, another chain, no %IP%, an address, a port range,
    // every port) stays a command. An "iptables" of our own: the hook needs an executable.
    char dir[] = "/tmp/import_knockd_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string iptables = std::string(dir) + "/iptables";
    ASSERT_EQ(symlink("/bin/true", iptables.c_str()), 0);
    for (const char *rule :
         {"-A INPUT -s %IP% -p udp --dport 53 -j ACCEPT",
          "-A FORWARD -s %IP% -p tcp --dport 22 -j ACCEPT", "-A INPUT -p tcp --dport 22 -j ACCEPT",
          "-A INPUT -s %IP% -d 192.0.2.1 -p tcp --dport 22 -j ACCEPT",
          "-A INPUT -s %IP% -p tcp --dport 1000:2000 -j ACCEPT",
          "-A INPUT -s %IP% -p tcp --dport ssh -j ACCEPT",
          "-A INPUT -s %IP% -p tcp --syn -j ACCEPT"}) {
        const KnockdImport h =
            import_knockd(section("    command = " + iptables + " " + rule + "\n"), "");
        EXPECT_EQ(h.config["ranges"][0]["hooks"]["on_authorize"][0], iptables) << rule;
        EXPECT_EQ(h.config["ranges"][0]["open"], json({"*"})) << rule;
        loads(h);
    }
    std::remove(iptables.c_str());
    rmdir(dir);
}

TEST(ImportKnockd, CommandsThatNeedAShellAreRefused) {
    const char *shell[] = {
        "/sbin/iptables -A INPUT -s %IP% -j ACCEPT; /usr/bin/logger x",
        "/bin/echo %IP% | /usr/bin/logger",
        "/bin/echo %IP% && /bin/true",
        "/bin/echo %IP% > /tmp/knocked",
        "/bin/echo $(id)",
        "/bin/echo `id`",
        "/bin/echo \"$HOME\"",
        "/bin/echo * %IP%",
        "/bin/echo 'unterminated",
        "PATH=/tmp /bin/echo %IP%",
        "/bin/echo ~root",
    };
    for (const char *cmd : shell)
        expect_refused(section("    command = " + std::string(cmd) + "\n"),
                       "knockd.conf:3: [door] command needs a shell", "script");
    expect_refused(section("    start_command = iptables -A INPUT -s %IP% -p tcp -j DROP\n"),
                   "knockd.conf:3: [door] start_command", "not an absolute path");
    expect_refused(section("    command = /bin/echo %PORT%\n"), "knockd.conf:3: [door] command",
                   "replaces only %IP%");
    for (const char *cmd : {"/bin/sh -c '/sbin/iptables -A INPUT -s %IP% -j ACCEPT'",
                            "/usr/bin/env bash -ec \"/bin/echo %IP%\""}) {
        expect_refused(section("    command = " + std::string(cmd) + "\n"),
                       "knockd.conf:3: [door] command runs a shell on text", "script");
    }
    expect_refused(section("    command = /nonexistent/knock-hook %IP%\n"),
                   "knockd.conf:3: [door] command", "not an executable");
}

TEST(ImportKnockd, TcpFlagsAreCheckedAndSpelledAsTheConfigDoes) {
    const KnockdImport r = import_knockd(
        section("    tcpflags = SYN, !ack\n    command = /sbin/iptables -A INPUT -s %IP% -p tcp "
                "--dport 22 -j ACCEPT\n"),
        "");
    EXPECT_EQ(r.config["ranges"][0]["tcp_flags"], "syn,!ack");
    const auto cfg = loads(r);
    EXPECT_EQ(cfg.ranges[0].sequence.tcp_flags_mask, 0x12);
    EXPECT_EQ(cfg.ranges[0].sequence.tcp_flags_want, 0x02);
    expect_refused(section("    tcpflags = syn,bogus\n"), "knockd.conf:3: [door] tcpflags",
                   "'bogus'");
    expect_refused(section("    tcpflags = syn,!syn\n"), "knockd.conf:3: [door] tcpflags", "twice");
    expect_refused(section("    tcpflags = syn,\n"), "knockd.conf:3: [door] tcpflags", "''");
}

TEST(ImportKnockd, OneTimeSequencesFileIsCheckedAndLoads) {
    TempFile seqs(" 7000,8000:udp,9000\n#000,1,2\n 1111:tcp,2222\n\n");
    const std::string conf = "[smtp]\n one_time_sequences = " + seqs.path +
                             "\n tcpflags = fin,!ack\n start_command = /sbin/iptables -A INPUT "
                             "-s %IP% -p tcp --dport 25 -j ACCEPT\n cmd_timeout = 5\n "
                             "stop_command = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 25 "
                             "-j ACCEPT\n";
    const KnockdImport r = import_knockd(conf, "");
    const json &range = r.config["ranges"][0];
    EXPECT_EQ(range["one_time_sequences"], seqs.path);
    EXPECT_FALSE(range.contains("sequence"));
    EXPECT_EQ(range["open"], json({"tcp/25"}));
    EXPECT_EQ(range["timeout"], 5);
    EXPECT_TRUE(noted(r, "knockd.conf:2:", "works once"));
    const auto cfg = loads(r);
    ASSERT_EQ(cfg.ranges[0].sequence.one_time.size(), 2u);
    EXPECT_EQ(cfg.ranges[0].sequence.one_time[0][1], (xk::policy::PortRef{17, 8000}));

    expect_refused("[smtp]\n one_time_sequences = /nonexistent/seqs\n",
                   "knockd.conf:2: [smtp] one_time_sequences", "/nonexistent/seqs");
    expect_refused("[smtp]\n one_time_sequences = seqs\n",
                   "knockd.conf:2: [smtp] one_time_sequences", "not an absolute path");
    expect_refused("[smtp]\n one_time_sequences = /dev/zero\n",
                   "knockd.conf:2: [smtp] one_time_sequences", "not a regular file");
    TempFile bad(" 7000,8000\n 7000,99999\n");
    expect_refused("[smtp]\n one_time_sequences = " + bad.path + "\n",
                   "knockd.conf:2: [smtp] one_time_sequences", bad.path + ":2: port must be");
    TempFile empty("");
    expect_refused("[smtp]\n one_time_sequences = " + empty.path + "\n",
                   "knockd.conf:2: [smtp] one_time_sequences", "is empty");
    TempFile used("#000,8000\n");
    expect_refused("[smtp]\n one_time_sequences = " + used.path + "\n",
                   "knockd.conf:2: [smtp] one_time_sequences", "no unused sequence");
    expect_refused("[smtp]\n sequence = 1,2\n one_time_sequences = " + seqs.path + "\n",
                   "knockd.conf:3: [smtp] one_time_sequences", "both given");
}

TEST(ImportKnockd, BadPortsAndNumbersAreRefusedNamingLineAndKey) {
    expect_refused("[door]\n sequence = 7000,70000\n", "knockd.conf:2: [door] sequence",
                   "port must be 1..65535");
    expect_refused("[door]\n sequence = 0,1\n", "knockd.conf:2: [door] sequence", "port");
    expect_refused("[door]\n sequence = 7000:sctp\n", "knockd.conf:2: [door] sequence",
                   "tcp or udp");
    expect_refused("[door]\n sequence = 7000,,8000\n", "knockd.conf:2: [door] sequence", "");
    expect_refused("[door]\n sequence = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n",
                   "knockd.conf:2: [door] sequence", "at most 16");
    expect_refused(section("    seq_timeout = 0\n"), "knockd.conf:3: [door] seq_timeout",
                   "[1, 3600]");
    expect_refused(section("    seq_timeout = 5s\n"), "knockd.conf:3: [door] seq_timeout", "'5s'");
    expect_refused(section("    cmd_timeout = 100000\n    stop_command = /bin/true\n"),
                   "knockd.conf:3: [door] cmd_timeout", "[1, 86400]");
    expect_refused("[door]\n seq_timeout = 5\n", "knockd.conf:1: [door]", "has no sequence");
    // A step that is also a port the config gates: the gate would drop the service.
    expect_refused(
        "[door]\n sequence = 22,2222\n command = /sbin/iptables -A INPUT -s %IP% -p "
        "tcp --dport 22 -j ACCEPT\n",
        "knockd.conf:2: [door] step tcp/22", "gate drops");
}

TEST(ImportKnockd, UnknownKeysTargetAndStructureAreRefused) {
    expect_refused(section("    foo = bar\n"), "knockd.conf:3: [door] foo", "not a knockd key");
    expect_refused(section("    target = 192.0.2.1\n"), "knockd.conf:3: [door] target",
                   "remove the line knowingly");
    expect_refused("[options]\n Verbose = 1\n" + section(""), "knockd.conf:2: [options] verbose",
                   "not a knockd option");
    expect_refused("[options]\n Interface = eth0/1\n" + section(""),
                   "knockd.conf:2: [options] interface", "character");
    expect_refused("sequence = 1,2\n", "knockd.conf:1: sequence", "outside a [section]");
    expect_refused(section("    seq_timeout = 5\n    SEQ_TIMEOUT = 6\n"),
                   "knockd.conf:4: [door] seq_timeout", "twice (first at line 3)");
    expect_refused(section("    tcpflags\n"), "knockd.conf:3: [door] tcpflags", "no '= value'");
    expect_refused(section("    command = /bin/true\n") + section("    command = /bin/true\n"),
                   "knockd.conf:4: [door] again", "unique");
    expect_refused("[options]\n UseSyslog\n", "knockd.conf: no section", "");
    expect_refused(section(""), "knockd.conf: no section", "");  // runs no command
}

TEST(ImportKnockd, Ipv6CommandsMustAgreeOrDoNothing) {
    const std::string open4 =
        "    start_command = /usr/sbin/iptables -A INPUT -s %IP% -p tcp --dport 25 -j ACCEPT\n";
    const std::string open6 =
        "    start_command_6 = /usr/sbin/ip6tables -A INPUT -s %IP% -p tcp --dport 25 -j ACCEPT\n";
    const KnockdImport both = import_knockd(section(open4 + open6), "");
    EXPECT_EQ(both.config["ranges"][0]["sources"], json({"0.0.0.0/0", "::/0"}));
    loads(both);
    const KnockdImport v4 = import_knockd(section(open4 + "    command_6 =\n"), "");
    EXPECT_EQ(v4.config["ranges"][0]["sources"], json({"0.0.0.0/0"}));
    EXPECT_TRUE(noted(v4, "knockd.conf:4:", "IPv4 only"));
    loads(v4);
    const KnockdImport v6 = import_knockd(section("    command =\n" + open6), "");
    EXPECT_EQ(v6.config["ranges"][0]["sources"], json({"::/0"}));
    expect_refused(section(open4 + "    start_command_6 = /bin/echo %IP%\n"),
                   "knockd.conf:4: [door] start_command_6", "both families");
}

TEST(KnockdCommand, SplitsAsShDoesWithoutExpanding) {
    std::string problem;
    auto w = xk::cli::knockd::shell_words("  /bin/a 'b c'd\"e\"  f#g  ! ", problem);
    ASSERT_TRUE(w) << problem;
    EXPECT_EQ(*w, (std::vector<std::string>{"/bin/a", "b cde", "f#g", "!"}));
    EXPECT_FALSE(xk::cli::knockd::shell_words("   ", problem));
    EXPECT_FALSE(xk::cli::knockd::shell_words("/bin/a #comment", problem));
    EXPECT_EQ(problem, "'#'");
    EXPECT_FALSE(xk::cli::knockd::shell_words("/bin/a \"x\\y\"", problem));
    EXPECT_FALSE(xk::cli::knockd::shell_words("/bin/a\x01", problem));
    EXPECT_EQ(problem, "a control character");
}
