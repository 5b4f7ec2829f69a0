#pragma once
// Loaded things shared between the sessions that need them: a network read from a weight file, a
// backbone, encoded style statistics. A server keeps one cache for all its workers, so each model is
// read once, not once per job; the CLI passes none and every session loads its own.
//
// Keys say what was loaded and from which version of its file (see file_version), so a file that
// changes on disk is loaded again under a new key. A resource is loaded once even when several
// threads ask for it at the same time (the others wait for the first). The cache holds at most
// `capacity` resources; the least recently used goes first (sessions still using it keep it alive).
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>

namespace impasto {

class ResourceCache {
 public:
  explicit ResourceCache(size_t capacity = 8) : capacity_(capacity) {}

  template <class T>
  std::shared_ptr<T> get(const std::string& key, const std::function<std::shared_ptr<T>()>& load) {
    return std::static_pointer_cast<T>(get_any(key, [&] { return std::static_pointer_cast<void>(load()); }));
  }

  size_t size() const;
  int64_t loads() const;  // how many times a resource was loaded (not found in the cache)

 private:
  struct Slot;
  std::shared_ptr<void> get_any(const std::string& key, const std::function<std::shared_ptr<void>()>& load);

  size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::pair<std::string, std::shared_ptr<Slot>>> entries_;  // most recently used first
  int64_t loads_ = 0;
};

// "<path>@<modification time>:<size>", for cache keys of things read from a file; FileError when the
// file does not exist.
std::string file_version(const std::string& path);

}  // namespace impasto
