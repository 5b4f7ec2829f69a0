#pragma once
// Files written and read whole; FileError naming the path when that fails.
#include <string>

#include "impasto/core/json_options.h"

namespace impasto {

// The same as write_file_atomically.
void write_text_file(const std::string& path, const std::string& text);

// Writes `bytes` to `path` through <path>.tmp, flushed to the disk and renamed, so that a reader (or
// a restart after a crash) never sees the file half-written: results, summaries, configs, reports.
// Paths that are not regular files (a FIFO, /dev/stdout) are written in place.
void write_file_atomically(const std::string& path, const std::string& bytes);

// The whole content of a file, as bytes.
std::string read_whole_file(const std::string& path);

// A JSON file: FileError "cannot open <what>" when it cannot be read, FormatError "not valid JSON"
// when it does not parse (both naming the path).
Json read_json_file(const std::string& path, const std::string& what = "the file");

}  // namespace impasto
