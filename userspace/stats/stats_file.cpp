#include "stats/stats_file.hpp"

#include <fstream>
#include <sstream>

#include "log/private_file.hpp"
#include "stats/json_printer.hpp"
#include "stats/json_reader.hpp"

namespace xk::stats {

std::string write_file(const std::string &run_dir, const Snapshot &s) {
    return write_private_file(run_dir + "/stats.json", to_json(s) + "\n");
}

std::optional<Snapshot> read_file(const std::string &run_dir) {
    std::ifstream in(run_dir + "/stats.json");
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return from_json(text.str());
}

}  // namespace xk::stats
