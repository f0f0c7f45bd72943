#pragma once
// For tests that drive a real tool (gpg, nft): a shell command's standard output.

#include <cstdio>
#include <string>

namespace xk::test {

// The output of `sh -c cmd`; its wait status in *status (-1 if it could not run).
inline std::string run_command(const std::string &cmd, int *status = nullptr) {
    std::string out;
    FILE *p = popen(cmd.c_str(), "r");
    if (!p) {
        if (status) *status = -1;
        return out;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = pclose(p);
    if (status) *status = st;
    return out;
}

}  // namespace xk::test
