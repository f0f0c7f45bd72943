#include "methods/registry.hpp"

#include <iterator>
#include <stdexcept>

namespace xk::methods {

// Each defined in its method's file.
const KnockMethod &plain_method();
const KnockMethod &fko_method();
const KnockMethod &sequence_method();

namespace {

struct Entry {
    policy::Method id;
    const KnockMethod &(*method)();
};

// A new method: its file, its policy::Method id, and one line here.
constexpr Entry kMethods[] = {
    {policy::Method::plain, plain_method},
    {policy::Method::fko, fko_method},
    {policy::Method::sequence, sequence_method},
};

}  // namespace

const KnockMethod &method_of(policy::Method id) {
    for (const auto &e : kMethods)
        if (e.id == id) return e.method();
    throw std::logic_error("a knock method id without a registered method");
}

bool find_method(std::string_view name, policy::Method &id) {
    for (const auto &e : kMethods) {
        if (e.method().name() != name) continue;
        id = e.id;
        return true;
    }
    return false;
}

std::string method_names() {
    std::string out;
    for (size_t i = 0; i < std::size(kMethods); ++i) {
        if (i) out += i + 1 == std::size(kMethods) ? " or " : ", ";
        out += "\"" + std::string(kMethods[i].method().name()) + "\"";
    }
    return out;
}

}  // namespace xk::methods
