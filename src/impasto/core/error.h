#pragma once
// Typed errors. Every user-facing failure throws one of these with the context a user needs to fix
// it: which file, which option, what was expected and what was found. The library never exits.
#include <stdexcept>
#include <string>

namespace impasto {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A bad option value or an unknown name. `option()` is the option's name as in the JSON config
// (the CLI flag is the same name with '-' for '_').
class OptionError : public Error {
 public:
  OptionError(std::string option, std::string message)
      : Error("option '" + option + "': " + message), option_(std::move(option)), detail_(std::move(message)) {}
  const std::string& option() const { return option_; }
  const std::string& detail() const { return detail_; }  // the message without the option name

 private:
  std::string option_;
  std::string detail_;
};

// Throws OptionError(option, message) unless `ok`: the one-line form of every option check.
inline void check_option(bool ok, const std::string& option, const std::string& message) {
  if (!ok) throw OptionError(option, message);
}

// A file that cannot be opened, read or written.
class FileError : public Error {
 public:
  FileError(std::string path, const std::string& message)
      : Error(path + ": " + message), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An error about some input data; `source` names the file or buffer ("upload", a path).
class SourceError : public Error {
 public:
  SourceError(std::string source, const std::string& message)
      : Error(source + ": " + message), source_(std::move(source)) {}
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// Content that is not what it should be: not an image, a truncated file, a weight file whose keys
// or shapes do not match the architecture.
class FormatError : public SourceError {
 public:
  using SourceError::SourceError;
};

// Input over a configured limit (pixels, bytes), refused before the expensive work.
class LimitError : public SourceError {
 public:
  using SourceError::SourceError;
};

}  // namespace impasto
