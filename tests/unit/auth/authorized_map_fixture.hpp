#pragma once
// A real BPF hash map of the gate's authorized layout for store tests. Needs CAP_BPF: under
// CI=true a missing capability fails the test instead of skipping it.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "xdpknock/maps.h"

namespace xk::test {

class AuthorizedMapFixture : public ::testing::Test {
  protected:
    void SetUp() override { create(1024); }
    void create(uint32_t max_entries) {
        if (fd_ >= 0) close(fd_);
        fd_ = bpf_map_create(BPF_MAP_TYPE_HASH, "authorized", sizeof(xk_auth_key),
                             sizeof(xk_auth_value), max_entries, nullptr);
        if (fd_ < 0) {
            const char *ci = getenv("CI");
            if (ci && std::string(ci) == "true") FAIL() << "cannot create a BPF map in CI";
            GTEST_SKIP() << "needs CAP_BPF";
        }
    }
    void TearDown() override {
        if (fd_ >= 0) close(fd_);
    }
    int fd_ = -1;
};

}  // namespace xk::test
