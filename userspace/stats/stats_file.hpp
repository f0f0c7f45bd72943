#pragma once
// <run_dir>/stats.json: the daemon writes its snapshot there once a second, status reads
// it back. Private (it names sources and hosts).

#include <optional>
#include <string>

#include "stats/snapshot.hpp"

namespace xk::stats {

// Through write_private_file: whole or not at all, 0600, never through a planted symlink.
// Returns "" or why it failed (a full disk): the previous file then stays.
std::string write_file(const std::string &run_dir, const Snapshot &s);
// std::nullopt when there is no file or it is not a snapshot.
std::optional<Snapshot> read_file(const std::string &run_dir);

}  // namespace xk::stats
