#pragma once
// The image files of a folder, as the commands that take folders read them (impasto eval, impasto
// stylize on a folder): files ending in .jpg .jpeg .png .webp (any case), from the folder itself or,
// with `recursive`, also from its subfolders, named by their path relative to the folder, in sorted
// order. Other files are ignored, and so are the loss charts `impasto stylize` writes next to its
// outputs (`*.losses.png`).
#include <filesystem>
#include <string>
#include <vector>

namespace impasto {

bool is_image_file(const std::filesystem::path& path);

// OptionError(option) when the folder is missing, not a folder or holds no image file; FileError
// when it cannot be listed.
std::vector<std::string> list_image_files(const std::string& folder, bool recursive, const std::string& option);

}  // namespace impasto
