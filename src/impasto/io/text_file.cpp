#include "impasto/io/text_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "impasto/core/error.h"

namespace impasto {

void write_text_file(const std::string& path, const std::string& text) { write_file_atomically(path, text); }

Json read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw FileError(path, "cannot open " + what);
  try {
    return Json::parse(in);
  } catch (const Json::exception& e) {
    throw FormatError(path, std::string("not valid JSON: ") + e.what());
  }
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw FileError(path, "read failed");
  return s.str();
}

// The bytes go to <path>.tmp, are flushed to the disk (fsync) and renamed over `path`, so `path` is
// either its old content or all of the new one, never a truncated file (a crash, a full disk).
// Something that is not a regular file (a FIFO, /dev/stdout) is written in place.
void write_file_atomically(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool in_place = fs::exists(path, ec) && !fs::is_regular_file(path, ec);
  const std::string target = in_place ? path : path + ".tmp";
  std::FILE* file = std::fopen(target.c_str(), "wb");
  if (!file) throw FileError(target, std::string("cannot open for writing: ") + std::strerror(errno));
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), file);
  int error = written == bytes.size() ? 0 : (errno ? errno : EIO);
  if (error == 0 && std::fflush(file) != 0) error = errno ? errno : EIO;
  if (error == 0 && !in_place && ::fsync(::fileno(file)) != 0) error = errno ? errno : EIO;
  if (std::fclose(file) != 0 && error == 0) error = errno ? errno : EIO;
  if (error != 0) {
    if (!in_place) fs::remove(target, ec);
    throw FileError(path, std::string("write failed: ") + std::strerror(error));
  }
  if (in_place) return;
  fs::rename(target, path, ec);
  if (ec) {
    fs::remove(target, ec);
    throw FileError(path, "cannot rename " + target + " over it: " + ec.message());
  }
}

}  // namespace impasto
