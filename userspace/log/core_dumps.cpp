#include "log/core_dumps.hpp"

#include <sys/prctl.h>

namespace xk {

bool forbid_core_dumps() {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
}

}  // namespace xk
