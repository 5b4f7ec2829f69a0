#pragma once
// Option schemas: a method's options written once, with their types, defaults, valid values, help
// and how far the service lets a client set them. Every front end is generated from a schema (the
// CLI's flags and their help, the service's checks and limits, /v1/models and the web page's
// controls), so adding an option to a method is one entry here and one use in the method.
//
// Reading is strict: OptionSchema::resolve rejects unknown keys (listing the valid ones), values of
// the wrong type and values outside the range or the choices, each as an OptionError naming the
// option, and fills in the defaults. A method then reads the resolved JSON without checking again.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"

namespace impasto {

enum class OptionType {
  boolean,
  integer,
  number,
  string,
  layers,  // layer weights: {"relu1_1": 1, ...}, ["relu1_1", "relu2_1:0.5"] or [["relu1_1", 1]]
};
const char* to_string(OptionType type);

// What an option stands for, where a front end must treat it specially. The service acts on roles,
// never on method names.
enum class OptionRole {
  plain,
  output_side,       // the longest side of the output in pixels; 0 keeps the content's size
  backbone,          // names a feature network (nn/backbone.h); the service offers those it has files for
  backbone_weights,  // the weight file of the `backbone` option's network; the service fills it in
  model,             // a trained network's file; the service takes a model's name from its catalogue
  device,            // auto | cpu | cuda; the service's own choice
  output_scale,      // a factor of the output side giving another size the method allocates (a style
                     // image's side): the service bounds factor x side by the output side's limit
};
const char* to_string(OptionRole role);

// How the web page shows an option (none: not shown). `scale` is a slider over powers of ten of the
// method's default (10^min .. 10^max), for weights whose useful values span decades.
struct WebControl {
  std::string kind;               // "" (not shown) | range | number | select | scale
  std::string label;              // "" = the option's name
  std::vector<std::pair<Json, std::string>> choices;  // select: value and label ("" = the value)
  Json value;                     // the page's initial value (null = the option's default)
  double step = 0;                // range and scale: the slider's step (0 = the browser's)
};

struct OptionSpec {
  std::string name;  // JSON key in snake_case; the CLI flag is --name-with-dashes
  OptionType type = OptionType::number;
  Json default_value;  // null: the method decides when it opens (e.g. from the backbone's recipe)
  std::string help;
  std::vector<std::string> choices;   // strings: the only valid values (empty: any)
  std::optional<double> min, max;     // integers and numbers: the valid range (inclusive)
  OptionRole role = OptionRole::plain;
  // The service. Options that are not `in_service` are the operator's (paths, devices, tiling): a
  // client sending one gets an error. `service_choices` narrows the valid values for clients;
  // `service_limit` names an operator's limit (ServerOptions: "max_iterations", "max_side") and
  // `service_max` is the cap when the operator has none of that name. A client's value over the
  // cap is refused; an unset option whose default is over the cap runs at the cap.
  bool in_service = true;
  std::vector<std::string> service_choices;
  std::string service_limit;
  std::optional<double> service_max;
  WebControl web;

  // Builders, so that a schema reads as a table.
  OptionSpec& with_choices(std::vector<std::string> values);
  OptionSpec& with_range(std::optional<double> low, std::optional<double> high);
  OptionSpec& with_role(OptionRole r);
  OptionSpec& operator_only();
  OptionSpec& limited_by(std::string limit, std::optional<double> fallback = std::nullopt);
  OptionSpec& for_clients(std::vector<std::string> values);
  OptionSpec& on_page(WebControl control);
};

// Shorthands for the common cases.
OptionSpec boolean_option(std::string name, bool default_value, std::string help);
OptionSpec integer_option(std::string name, Json default_value, std::string help);
OptionSpec number_option(std::string name, Json default_value, std::string help);
OptionSpec string_option(std::string name, Json default_value, std::string help);
OptionSpec layers_option(std::string name, std::string help);

class OptionSchema {
 public:
  OptionSchema() = default;
  OptionSchema(std::initializer_list<OptionSpec> specs);
  OptionSchema& add(OptionSpec spec);  // logic_error for a name given twice

  const std::vector<OptionSpec>& options() const { return options_; }
  const OptionSpec* find(const std::string& name) const;  // nullptr when absent
  const OptionSpec* find_role(OptionRole role) const;     // the first option with the role
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const;

  // `given` checked (strictly: see above; `what` names the owner in the unknown-key message, e.g.
  // "method gatys") with every default filled in; null values count as unset.
  Json resolve(const Json& given, const std::string& what) const;
  // One value against its spec; OptionError(spec.name) when it does not fit.
  static void check_value(const OptionSpec& spec, const Json& value);

  // The schema as data, for /v1/models and the web page: per option name, type, default, help,
  // choices, range, role, and the service's view (only options in the service unless `all`).
  Json to_json(bool all = true) const;

 private:
  std::vector<OptionSpec> options_;
};

}  // namespace impasto
