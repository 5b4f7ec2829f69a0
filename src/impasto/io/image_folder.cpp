#include "impasto/io/image_folder.h"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "impasto/core/error.h"

namespace impasto {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool is_image_file(const fs::path& path) {
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ends_with(name, ".losses.png")) return false;  // loss charts written by `impasto stylize`
  return ends_with(name, ".jpg") || ends_with(name, ".jpeg") || ends_with(name, ".png") || ends_with(name, ".webp");
}

std::vector<std::string> list_image_files(const std::string& folder, bool recursive, const std::string& option) {
  if (folder.empty()) throw OptionError(option, "no folder given");
  std::error_code ec;
  const fs::file_status status = fs::status(folder, ec);
  if (!fs::exists(status)) throw OptionError(option, "no such folder: " + folder);
  if (!fs::is_directory(status)) throw OptionError(option, "not a folder: " + folder + "; expected a folder of images");
  std::vector<std::string> files;
  auto consider = [&](const fs::directory_entry& entry) {
    std::error_code fec;
    if (entry.is_regular_file(fec) && is_image_file(entry.path()))
      files.push_back(entry.path().lexically_relative(folder).generic_string());
  };
  if (recursive) {
    fs::recursive_directory_iterator it(folder, fs::directory_options::follow_directory_symlink |
                                                    fs::directory_options::skip_permission_denied, ec);
    if (ec) throw FileError(folder, "cannot list: " + ec.message());
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
      if (ec) throw FileError(folder, "cannot list: " + ec.message());
      consider(*it);
    }
  } else {
    fs::directory_iterator it(folder, ec);
    if (ec) throw FileError(folder, "cannot list: " + ec.message());
    for (const fs::directory_iterator end; it != end; it.increment(ec)) {
      if (ec) throw FileError(folder, "cannot list: " + ec.message());
      consider(*it);
    }
  }
  if (files.empty())
    throw OptionError(option, "no image files (.jpg .jpeg .png .webp) in " + folder +
                                  (recursive ? " or its subfolders" : " (subfolders are read only with the recursive option)"));
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace impasto
