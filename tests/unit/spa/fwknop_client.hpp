// Runs the real fwknop client in test mode (-T) to build packets without sending them.
#pragma once

#include <string>
#include <vector>

namespace xk::spa::test {

// A private HOME so the client writes no rc/run files anywhere else; removed on destruction.
class FwknopClient {
  public:
    FwknopClient();
    ~FwknopClient();
    // Runs `fwknop -D 127.0.0.1 -T --no-save-args --no-rc-file -B FILE <args>`; returns the
    // packet (trailing newline stripped) or "" if the client failed.
    std::string packet(const std::vector<std::string> &args);

  private:
    std::string home_;
};

}  // namespace xk::spa::test
