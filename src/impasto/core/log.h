#pragma once
// Reporting without printing: the library calls these callbacks and the front end decides what to
// show (a progress bar in the CLI, job state in the server, nothing in tests).
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace impasto {

enum class LogLevel { debug, info, warn, error };

const char* to_string(LogLevel level);

struct ProgressEvent {
  std::string stage;      // e.g. "stylize 1/2 (128x128)"
  int64_t step = 0;       // 1-based step within the stage
  int64_t total = 0;      // steps in the stage
  double elapsed_s = 0;   // since the stage started
  std::vector<std::pair<std::string, double>> metrics;  // current losses etc., in display order
};

struct Callbacks {
  std::function<void(LogLevel, const std::string&)> log;
  std::function<void(const ProgressEvent&)> progress;
  // Polled between steps; returning true stops the work early (result so far is returned).
  std::function<bool()> should_stop;

  void emit(LogLevel level, const std::string& message) const {
    if (log) log(level, message);
  }
  void info(const std::string& message) const { emit(LogLevel::info, message); }
  void warn(const std::string& message) const { emit(LogLevel::warn, message); }
  void report(const ProgressEvent& event) const {
    if (progress) progress(event);
  }
  bool stop_requested() const { return should_stop && should_stop(); }
};

}  // namespace impasto
