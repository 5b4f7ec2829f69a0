#include "impasto/io/text_file.h"

#include <filesystem>
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

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw FileError(tmp, "cannot write");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw FileError(tmp, "write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw FileError(path, "cannot rename " + tmp + ": " + ec.message());
}

}  // namespace impasto
