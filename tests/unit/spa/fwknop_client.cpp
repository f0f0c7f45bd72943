#include "fwknop_client.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace xk::spa::test {

FwknopClient::FwknopClient() {
    char tmpl[] = "/tmp/xk-fwknop-XXXXXX";
    if (const char *d = mkdtemp(tmpl)) home_ = d;
}

FwknopClient::~FwknopClient() {
    std::error_code ec;
    if (!home_.empty()) std::filesystem::remove_all(home_, ec);
}

std::string FwknopClient::packet(const std::vector<std::string> &args) {
    if (home_.empty()) return {};
    const std::string out = home_ + "/out.pkt";
    std::filesystem::remove(out);
    std::vector<std::string> argv = {"fwknop",         "-D",           "127.0.0.1", "-T",
                                     "--no-save-args", "--no-rc-file", "-B",        out};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char *> cargv;
    for (auto &a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    pid_t pid = fork();
    if (pid == 0) {
        setenv("HOME", home_.c_str(), 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execvp("fwknop", cargv.data());
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return {};
    std::ifstream f(out);
    std::string pkt((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    while (!pkt.empty() && (pkt.back() == '\n' || pkt.back() == '\r')) pkt.pop_back();
    return pkt;
}

}  // namespace xk::spa::test
