#include "auth/authorization_store.hpp"

namespace xk::auth {

size_t AuthorizationStore::count(uint64_t now_ns) const {
    size_t n = 0;
    for (const auto &e : list()) n += e.value.expires_ns > now_ns;
    return n;
}

RangeUsage AuthorizationStore::usage(uint32_t) const {
    return {};
}

}  // namespace xk::auth
