#pragma once
// Writes a file only its owner can read, whole or not at all: a fresh temp file (never an
// existing one's mode, never through a planted symlink), fsynced, renamed over the target.
// For configs holding keys and for stats that name sources.

#include <string>
#include <string_view>

namespace xk {

// Returns "" on success, else why it failed (the path and errno's text).
std::string write_private_file(const std::string &path, std::string_view text);

}  // namespace xk
