#include "impasto/core/resource_cache.h"

#include <filesystem>

#include "impasto/core/error.h"

namespace impasto {

// One resource: loaded once (call_once), or the error its load threw, for every waiting caller.
struct ResourceCache::Slot {
  std::once_flag once;
  std::shared_ptr<void> value;
  std::exception_ptr error;
};

std::shared_ptr<void> ResourceCache::get_any(const std::string& key, const std::function<std::shared_ptr<void>()>& load) {
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == key) {
        slot = it->second;
        entries_.splice(entries_.begin(), entries_, it);
        break;
      }
    }
    if (!slot) {
      slot = std::make_shared<Slot>();
      entries_.emplace_front(key, slot);
      while (entries_.size() > std::max<size_t>(capacity_, 1)) entries_.pop_back();
    }
  }
  // Outside the cache's lock: other keys load meanwhile; callers of this key wait here.
  std::call_once(slot->once, [&] {
    try {
      slot->value = load();
      std::lock_guard<std::mutex> lock(mutex_);
      ++loads_;
    } catch (...) {
      slot->error = std::current_exception();
    }
  });
  if (slot->error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);  // a failed load is not kept: the next caller tries again
      entries_.remove_if([&](const auto& e) { return e.second == slot; });
    }
    std::rethrow_exception(slot->error);
  }
  return slot->value;
}

size_t ResourceCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

int64_t ResourceCache::loads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return loads_;
}

std::string file_version(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw FileError(path, "not found");
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  return path + "@" + std::to_string(mtime) + ":" + std::to_string(size);
}

}  // namespace impasto
