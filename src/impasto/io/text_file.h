#pragma once
// Text files: written whole, FileError naming the path when that fails.
#include <string>

namespace impasto {

void write_text_file(const std::string& path, const std::string& text);

}  // namespace impasto
