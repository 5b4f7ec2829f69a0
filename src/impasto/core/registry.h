#pragma once
// Choose-by-name: a small explicit registry from short names to factories. Built-in entries are
// added by `register_builtin_*()` functions (no static self-registration), so what exists is visible
// in one place. An unknown name throws an OptionError that lists the valid names.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "impasto/core/error.h"

namespace impasto {

template <class Product, class... Args>
class Registry {
 public:
  using Factory = std::function<Product(Args...)>;

  // `kind` names what is registered ("backbone", "stylizer"); `option` is the option that selects
  // it, used in error messages.
  Registry(std::string kind, std::string option) : kind_(std::move(kind)), option_(std::move(option)) {}

  void add(const std::string& name, Factory factory, std::string description = "") {
    entries_[name] = Entry{std::move(factory), std::move(description)};
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

  const std::string& description(const std::string& name) const { return find(name).description; }

  Product create(const std::string& name, Args... args) const {
    return find(name).factory(std::forward<Args>(args)...);
  }

 private:
  struct Entry {
    Factory factory;
    std::string description;
  };

  const Entry& find(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string valid;
      for (const auto& [n, e] : entries_) valid += (valid.empty() ? "" : ", ") + n;
      throw OptionError(option_, "unknown " + kind_ + " '" + name + "'; valid: " + valid);
    }
    return it->second;
  }

  std::string kind_;
  std::string option_;
  std::map<std::string, Entry> entries_;
};

}  // namespace impasto
