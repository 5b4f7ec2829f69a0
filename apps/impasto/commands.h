#pragma once
// The CLI's sub-commands. Each file adds one sub-command to the app; main.cpp wires them up and
// turns errors into messages and exit codes. This folder is the only place CLI11 appears.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "cli.h"
#include "impasto/core/log.h"
#include "impasto/train/loop.h"

namespace impasto::cli {

// What every command gets: callbacks that draw progress and log lines on stderr.
struct Context {
  bool quiet = false;
  int exit_code = 0;  // set by a command that ends without an error but not normally (130: interrupted)
  // Log lines and a progress bar on stderr; should_stop turns true after the first Ctrl-C (SIGINT)
  // or SIGTERM, so long jobs stop at the next step and still write what they have.
  Callbacks callbacks() const;
};

// Each returns the sub-command it added; its callback runs the command.
CLI::App* add_stylize_command(CLI::App& app, Context& context);
CLI::App* add_demo_command(CLI::App& app, Context& context);
CLI::App* add_weights_command(CLI::App& app, Context& context);
CLI::App* add_list_command(CLI::App& app, Context& context);
CLI::App* add_export_command(CLI::App& app, Context& context);  // cmd_export.cpp
CLI::App* add_calibrate_command(CLI::App& app, Context& context);  // cmd_calibrate.cpp
CLI::App* add_train_command(CLI::App& app, Context& context);
// `train <recipe>` sub-commands, added by add_train_command.
CLI::App* add_feedforward_command(CLI::App& train, Context& context);  // cmd_train_feedforward.cpp
CLI::App* add_cyclegan_command(CLI::App& train, Context& context);     // cmd_train_cyclegan.cpp
CLI::App* add_adain_train_command(CLI::App& train, Context& context);  // cmd_train_adain.cpp
// --resume takes every option from the run's config.json: OptionError for any other option given
// (except --steps and --threads).
void reject_options_besides_resume(const CLI::App& command);
// The flags every `train <recipe>` takes: --out, --resume, the LoopOptions (--seed, --device,
// --log-every, --sample-every, --checkpoint-every, --keep-checkpoints) and --threads.
struct RunFlags {
  std::string out, resume;
  int threads = 0;
};
void add_run_flags(CLI::App& command, RunFlags& run, LoopOptions& options);
// A `train <recipe>` command's callback: resumes --resume (checking that no other option but --steps
// is given; `steps` is the --steps value) or calls `train` with --out, then reports the result.
void run_recipe_command(const CLI::App& command, Context& context, const std::string& recipe, const RunFlags& run,
                        int64_t steps, const std::function<TrainResult(const std::string& out, const Callbacks&)>& train);
CLI::App* add_generate_command(CLI::App& app, Context& context);
CLI::App* add_eval_command(CLI::App& app, Context& context);
CLI::App* add_dataset_command(CLI::App& app, Context& context);  // cmd_dataset.cpp
CLI::App* add_explain_command(CLI::App& app, Context& context);
CLI::App* add_serve_command(CLI::App& app, Context& context);  // cmd_serve.cpp
CLI::App* add_keys_command(CLI::App& app, Context& context);   // cmd_serve.cpp

// Common flags: --threads (applied by configure_runtime before the command runs).
void add_threads_flag(CLI::App& command, int& threads);

// The flag of a JSON option name: style_weight -> --style-weight.
std::string flag_name(const std::string& option);

}  // namespace impasto::cli
