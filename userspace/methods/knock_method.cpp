#include "methods/knock_method.hpp"

#include <algorithm>

namespace xk::methods {

uint32_t one_entry_per_open_port(const policy::Range &range) {
    return static_cast<uint32_t>(std::max<size_t>(1, range.open.size()));
}

}  // namespace xk::methods
