#include "log/core_dumps.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

namespace {

// In a child, so the test binary itself keeps its own dumpable state.
TEST(CoreDumps, ForbiddenProcessIsNotDumpable) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const bool before = prctl(PR_GET_DUMPABLE) == 1;
        const bool ok = xk::forbid_core_dumps();
        _exit(before && ok && prctl(PR_GET_DUMPABLE) == 0 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The crash itself: with core dumps allowed by the limit, a forbidden process that dies of
// SIGSEGV is reported without a core (WCOREDUMP), where an allowed one gets one.
bool crash_dumps_core(bool forbid) {
    pid_t pid = fork();
    if (pid == 0) {
        rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
        setrlimit(RLIMIT_CORE, &unlimited);
        const std::string dir = ::testing::TempDir() + "/xk-core-" + std::to_string(getpid());
        std::filesystem::create_directories(dir);
        if (chdir(dir.c_str()) != 0) _exit(2);
        if (forbid) xk::forbid_core_dumps();
        raise(SIGSEGV);
        _exit(3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::filesystem::remove_all(::testing::TempDir() + "/xk-core-" + std::to_string(pid));
    return WIFSIGNALED(status) && WCOREDUMP(status);
}

TEST(CoreDumps, ACrashAfterTheCallLeavesNoCore) {
    EXPECT_FALSE(crash_dumps_core(true));
}

}  // namespace
