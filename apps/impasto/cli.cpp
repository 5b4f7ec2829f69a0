// impasto: the command line. Parses flags, configures the runtime and calls the library; every
// algorithm lives in libimpasto. Exit codes: 0 success, 1 an error in the input or options (the
// message names it), 2 a usage error (unknown flag, missing argument), 3 an unexpected failure.
// main.cpp prepares the process and calls run(); tests call run() in their own process.
#include <torch/torch.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "progress_bar.h"

namespace impasto::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int signal) {
  g_interrupted = true;
  std::signal(signal, SIG_DFL);  // a second Ctrl-C ends the process at once
}

}  // namespace

Callbacks Context::callbacks() const {
  Callbacks cb;
  const bool q = quiet;
  cb.log = [q](LogLevel level, const std::string& message) {
    if (q && level < LogLevel::warn) return;
    std::fprintf(stderr, "%s: %s\n", to_string(level), message.c_str());
  };
  cb.should_stop = [] { return g_interrupted.load(); };
  if (!quiet) {
    auto bar = std::make_shared<ProgressBar>();
    cb.progress = [bar](const ProgressEvent& e) { bar->update(e); };
  }
  return cb;
}

void add_threads_flag(CLI::App& command, int& threads) {
  command.add_option("--threads", threads, "CPU threads (0 = number of cores)")->check(CLI::NonNegativeNumber);
  command.parse_complete_callback([&threads] { configure_runtime(RuntimeOptions{threads}); });
}

std::string flag_name(const std::string& option) {
  std::string flag = option;
  for (char& c : flag)
    if (c == '_') c = '-';
  return "--" + flag;
}

int run(int argc, char** argv) {
  CLI::App app{"impasto: image style transfer with perceptual losses and GANs"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags (-q) may also follow the sub-command
  app.set_version_flag("--version", "impasto 0.1.0");
  Context context;
  app.add_flag("-q,--quiet", context.quiet, "no progress bar, warnings and errors only");
  add_stylize_command(app, context);
  add_demo_command(app, context);
  add_weights_command(app, context);
  add_list_command(app, context);
  add_export_command(app, context);
  add_calibrate_command(app, context);
  add_train_command(app, context);
  add_generate_command(app, context);
  add_eval_command(app, context);
  add_dataset_command(app, context);
  add_explain_command(app, context);
  add_serve_command(app, context);
  add_keys_command(app, context);
  // CLI11 reports an unknown command as "a subcommand is required"; name it and the valid ones.
  CLI::App* parent = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    const auto subs = parent->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) break;
    CLI::App* match = nullptr;
    std::string valid;
    for (CLI::App* sub : subs) {
      if (sub->get_name() == argv[i]) match = sub;
      valid += (valid.empty() ? "" : ", ") + sub->get_name();
    }
    if (!match) {
      std::fprintf(stderr, "error: unknown %s '%s'; valid: %s\n", i == 1 ? "command" : "sub-command", argv[i], valid.c_str());
      return 2;
    }
    parent = match;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const OptionError& e) {
    std::fprintf(stderr, "error: %s: %s\n", flag_name(e.option()).c_str(), e.detail().c_str());
    return 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 3;
  }
  return context.exit_code;
}

}  // namespace impasto::cli
