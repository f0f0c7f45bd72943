#include "hooks/hook_args.hpp"

#include <algorithm>
#include <cctype>

namespace xk::hooks {
namespace {

constexpr std::string_view kNames[] = {"IP",       "PORT",  "PORTS", "PORTNUM",
                                       "PROTONUM", "RANGE", "LABEL", "USER"};

// The first port as numbers, as fwknopd's $PORT and $PROTO give it: "22" and "6" for tcp/22.
// "*" (every protected port) stays "*" in both.
std::string first_port_part(const HookEvent &e, bool protocol) {
    if (e.ports.empty()) return "";
    const std::string &p = e.ports.front();
    size_t slash = p.find('/');
    if (slash == std::string::npos) return p;
    if (!protocol) return p.substr(slash + 1);
    std::string_view name(p.data(), slash);
    return name == "tcp" ? "6" : name == "udp" ? "17" : "";
}

std::string value_of(std::string_view name, const HookEvent &e) {
    if (name == "IP") return e.ip;
    if (name == "PORT") return e.ports.empty() ? "" : e.ports.front();
    if (name == "PORTNUM") return first_port_part(e, false);
    if (name == "PROTONUM") return first_port_part(e, true);
    if (name == "PORTS") {
        std::string out;
        for (const auto &p : e.ports) out += (out.empty() ? "" : ",") + p;
        return out;
    }
    if (name == "RANGE") return e.range;
    if (name == "LABEL") return e.label;
    return inert(e.user);
}

}  // namespace

bool known_placeholder(std::string_view name) {
    return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

std::string inert(std::string_view text) {
    std::string out;
    for (char c : text) {
        const bool safe = isalnum(static_cast<unsigned char>(c)) ||
                          std::string_view("._@+=:,-").find(c) != std::string_view::npos;
        out += safe ? c : '_';
    }
    if (!out.empty() && out.front() == '-') out.insert(out.begin(), '_');
    return out;
}

std::vector<std::string> expand(const std::vector<std::string> &argv, const HookEvent &e) {
    std::vector<std::string> out;
    for (size_t i = 0; i < argv.size(); i++) {
        const std::string &arg = argv[i];
        if (i == 0) {
            out.push_back(arg);
            continue;
        }
        std::string s;
        for (size_t pos = 0; pos < arg.size();) {
            size_t end = arg[pos] == '%' ? arg.find('%', pos + 1) : std::string::npos;
            std::string_view name = end == std::string::npos
                                        ? ""
                                        : std::string_view(arg).substr(pos + 1, end - pos - 1);
            if (known_placeholder(name)) {
                s += value_of(name, e);
                pos = end + 1;
            } else {
                s += arg[pos++];
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace xk::hooks
