#pragma once
// Files written whole; FileError naming the path when that fails.
#include <string>

namespace impasto {

void write_text_file(const std::string& path, const std::string& text);

// Writes `bytes` to `path` through a temporary file and a rename, so that a reader never sees the
// file half-written (configs, checkpoints, reports).
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace impasto
