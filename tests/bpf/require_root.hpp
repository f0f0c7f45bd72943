// BPF and netns tests need root. CI must prove the data path (CI=true: fail); a developer
// box without root may skip. A macro: GTEST_SKIP/FAIL return from the calling function.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#define XK_REQUIRE_ROOT()                                                                     \
    do {                                                                                      \
        if (geteuid() != 0) {                                                                 \
            const char *ci_ = std::getenv("CI");                                              \
            if (ci_ && std::string(ci_) == "true") FAIL() << "bpf tests need root (CI=true)"; \
            GTEST_SKIP() << "bpf tests need root";                                            \
        }                                                                                     \
    } while (0)
