#include "stylize_flags.h"

#include <fstream>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/style/method.h"

namespace impasto::cli {
namespace {

template <class T>
CLI::Option* add_typed(CLI::App* cmd, MethodFlags& flags, const std::string& key, const std::string& help) {
  return cmd->add_option_function<T>(flag_name(key), [&flags, key](const T& value) { flags[key] = value; }, help);
}

// One flag's help from every method that has the option: shared text once, else per method.
std::string help_of(const std::string& key) {
  std::vector<std::pair<std::string, std::string>> helps;  // method, help
  for (const auto& m : method_registry().methods())
    if (const OptionSpec* spec = m->description().options.find(key)) helps.emplace_back(m->name(), spec->help);
  bool same = true;
  for (const auto& h : helps) same = same && h.second == helps.front().second;
  if (helps.size() == 1 && method_registry().methods().size() > 1) return helps.front().first + ": " + helps.front().second;
  if (same) return helps.front().second;
  std::vector<std::string> parts;
  for (const auto& [method, help] : helps) parts.push_back(method + ": " + help);
  return join(parts, "; ");
}

}  // namespace

void add_method_flags(CLI::App* cmd, std::string& method, MethodFlags& flags) {
  std::vector<std::string> described;
  for (const auto& m : method_registry().methods()) described.push_back(m->name() + " (" + m->description().summary + ")");
  cmd->add_option("--method", method, "stylization method: " + join(described, "; "))->capture_default_str();
  std::vector<std::string> added;
  for (const auto& m : method_registry().methods()) {
    for (const OptionSpec& spec : m->description().options.options()) {
      if (std::find(added.begin(), added.end(), spec.name) != added.end()) continue;
      added.push_back(spec.name);
      const std::string help = help_of(spec.name);
      switch (spec.type) {
        case OptionType::boolean: add_typed<bool>(cmd, flags, spec.name, help); break;
        case OptionType::integer: add_typed<int64_t>(cmd, flags, spec.name, help); break;
        case OptionType::number: add_typed<double>(cmd, flags, spec.name, help); break;
        case OptionType::string: add_typed<std::string>(cmd, flags, spec.name, help); break;
        case OptionType::layers: add_typed<std::vector<std::string>>(cmd, flags, spec.name, help)->delimiter(','); break;
      }
    }
  }
}

Json method_options(const std::string& config_file, const MethodFlags& flags) {
  Json options = Json::object();
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) throw FileError(config_file, "cannot open config file");
    try {
      options = Json::parse(in);
    } catch (const Json::parse_error& e) {
      throw FormatError(config_file, std::string("not valid JSON: ") + e.what());
    }
    if (!options.is_object()) throw FormatError(config_file, "config must be a JSON object of method options");
  }
  for (const auto& [key, value] : flags) options[key] = value;
  return options;
}

std::string chosen_method(const CLI::App& command, const std::string& method, const Json& options) {
  if (command.count("--method") > 0) return method;
  std::vector<std::string> keys;
  for (auto it = options.begin(); it != options.end(); ++it) keys.push_back(it.key());
  return method_registry().method_for(keys);
}

}  // namespace impasto::cli
