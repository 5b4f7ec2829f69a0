#include "impasto/io/text_file.h"

#include <fstream>

#include "impasto/core/error.h"

namespace impasto {

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw FileError(path, "cannot open for writing");
  f << text;
  f.flush();
  if (!f) throw FileError(path, "write failed");
}

}  // namespace impasto
