#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hooks/hook_args.hpp"
#include "hooks/hook_runner.hpp"

using xk::hooks::expand;
using xk::hooks::HookEvent;
using xk::hooks::HookRunner;
using xk::hooks::inert;

namespace {

std::string slurp(const std::string &path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

class HookDir : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/xk-hooks-test.XXXXXX";
        ASSERT_TRUE(mkdtemp(tmpl));
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string dir;
};

TEST(HookArgs, ReplacesPlaceholdersInsideArguments) {
    HookEvent e{"192.0.2.7", {"tcp/22", "tcp/3389"}, "home", "k1", "alice"};
    auto argv = expand({"/usr/local/bin/notify %IP%", "%IP%", "--ports=%PORTS%", "%PORT%",
                        "%RANGE%/%LABEL%", "%USER%", "%FOO%", "100%"},
                       e);
    EXPECT_EQ(argv, (std::vector<std::string>{"/usr/local/bin/notify %IP%", "192.0.2.7",
                                              "--ports=tcp/22,tcp/3389", "tcp/22", "home/k1",
                                              "alice", "%FOO%", "100%"}));
}

// fwknopd's $PORT and $PROTO (import-fwknop's CMD_CYCLE_*): the first port's number and IP
// protocol number.
TEST(HookArgs, PortNumAndProtoNumAreTheFirstPortsNumbers) {
    EXPECT_TRUE(xk::hooks::known_placeholder("PORTNUM"));
    EXPECT_TRUE(xk::hooks::known_placeholder("PROTONUM"));
    EXPECT_FALSE(xk::hooks::known_placeholder("PROTO"));
    const std::vector<std::string> argv = {"/bin/fw", "%PROTONUM%/%PORTNUM%", "p=%PORTNUM%"};
    auto with = [&](std::vector<std::string> ports) {
        return expand(argv, HookEvent{"192.0.2.7", std::move(ports), "r", "l", ""});
    };
    using Argv = std::vector<std::string>;
    EXPECT_EQ(with({"tcp/22", "udp/53"}), (Argv{"/bin/fw", "6/22", "p=22"}));
    EXPECT_EQ(with({"udp/53", "tcp/22"}), (Argv{"/bin/fw", "17/53", "p=53"}));
    EXPECT_EQ(with({"*"}), (Argv{"/bin/fw", "*/*", "p=*"}));  // every protected port
    EXPECT_EQ(with({}), (Argv{"/bin/fw", "/", "p="}));
}

TEST(HookArgs, AnAttackersUserNameIsOneInertArgument) {
    EXPECT_EQ(inert("--help;rm -rf /"), "_--help_rm_-rf__");
    EXPECT_EQ(inert("../../etc/passwd"), ".._.._etc_passwd");
    EXPECT_EQ(inert("bob@example.org"), "bob@example.org");
    HookEvent e{"192.0.2.7", {"tcp/22"}, "r", "l", "--help;rm -rf /"};
    auto argv = expand({"/bin/notify", "%USER%", "user=%USER%"}, e);
    ASSERT_EQ(argv.size(), 3u);
    EXPECT_EQ(argv[1], "_--help_rm_-rf__");
    EXPECT_EQ(argv[2], "user=_--help_rm_-rf__");
}

TEST_F(HookDir, RunsWithTheArgumentsAsGivenNoShellNoEnvNoFds) {
    setenv("XK_TEST_SECRET", "hunter2", 1);
    int leak = open("/dev/null", O_RDONLY);  // no O_CLOEXEC: the runner must close it anyway
    ASSERT_GE(leak, 3);
    HookRunner runner;
    const std::string out = dir + "/out";
    const std::string script = "printf '%s\\n' \"$@\" > " + out + "; env > " + out +
                               ".env; test -e /proc/self/fd/" + std::to_string(leak) +
                               " && echo leak > " + out + ".fd || echo clean > " + out + ".fd";
    ASSERT_TRUE(
        runner.submit({"/bin/sh", "-c", script, "sh", "a b", "; rm -rf /", "$HOME"}, 5, "test"));
    runner.drain();
    close(leak);
    unsetenv("XK_TEST_SECRET");
    EXPECT_EQ(slurp(out), "a b\n; rm -rf /\n$HOME\n") << "each argument as given";
    EXPECT_EQ(slurp(out + ".env").find("XK_TEST_SECRET"), std::string::npos);
    EXPECT_NE(slurp(out + ".env").find("PATH="), std::string::npos);
    EXPECT_EQ(slurp(out + ".fd"), "clean\n") << "no daemon descriptor reaches a hook";
}

// The daemon ignores SIGPIPE; its hooks must not inherit that (SigIgn bit 13 = signal 14 - 1).
TEST_F(HookDir, AHookGetsSigpipeBackToDefault) {
    struct sigaction old {};
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old);
    HookRunner runner;
    const std::string out = dir + "/sigign";
    ASSERT_TRUE(runner.submit({"/bin/sh", "-c", "grep '^SigIgn:' /proc/self/status > " + out}, 5,
                              "sigpipe"));
    runner.drain();
    sigaction(SIGPIPE, &old, nullptr);
    const std::string line = slurp(out);
    ASSERT_EQ(line.rfind("SigIgn:", 0), 0u) << line;
    const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
    EXPECT_EQ(mask & (1ull << (SIGPIPE - 1)), 0u) << line;
}

TEST_F(HookDir, AHookPastItsTimeoutIsKilledWithItsChildren) {
    HookRunner runner;
    const std::string pidfile = dir + "/pid";
    ASSERT_TRUE(
        runner.submit({"/bin/sh", "-c", "sleep 600 & echo $! > " + pidfile + "; wait"}, 1, "slow"));
    runner.drain();  // returns once the timeout killed it
    const std::string child = slurp(pidfile);
    // The orphaned sleep was in the hook's process group: killed too. Gone, or a zombie
    // waiting for an init that may never reap it ("PID (sleep) Z …").
    auto alive = [&] {
        std::string stat = slurp("/proc/" + child.substr(0, child.find('\n')) + "/stat");
        size_t state = stat.rfind(") ");
        return state != std::string::npos && stat[state + 2] != 'Z';
    };
    for (int i = 0; i < 50 && alive(); i++) usleep(20000);
    EXPECT_FALSE(alive());
}

TEST(HookRunner, AFullQueueDropsAndCounts) {
    HookRunner runner(1, 2);
    int accepted = 0;
    for (int i = 0; i < 6; i++) accepted += runner.submit({"/bin/sleep", "0.2"}, 5, "q");
    EXPECT_LE(accepted, 3) << "one running, two queued at most";
    EXPECT_EQ(runner.dropped(), static_cast<uint64_t>(6 - accepted));
    runner.drain();
}

}  // namespace
