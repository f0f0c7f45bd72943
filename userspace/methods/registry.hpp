#pragma once
// Every knock method, by the config's "method" name and by a range's policy::Method id.
// The one place that knows which methods exist.

#include <string>
#include <string_view>

#include "methods/knock_method.hpp"
#include "policy/config.hpp"

namespace xk::methods {

const KnockMethod &method_of(policy::Method id);
inline const KnockMethod &method_of(const policy::Range &range) {
    return method_of(range.method);
}
// The method a config names; false when none has that name.
bool find_method(std::string_view name, policy::Method &id);
// For errors: "\"plain\" or \"fko\"".
std::string method_names();

}  // namespace xk::methods
