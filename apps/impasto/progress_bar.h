#pragma once
// Draws ProgressEvents on stderr: a live bar on a terminal (stage, bar, step/total, rate, ETA,
// current metrics), or a plain line every 10% when stderr is not a terminal (logs, CI).
#include <chrono>
#include <string>

#include "impasto/core/log.h"

namespace impasto::cli {

class ProgressBar {
 public:
  ProgressBar();
  void update(const ProgressEvent& event);
  void finish();  // ends the live line

 private:
  bool tty_;
  bool open_line_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string format_duration(double seconds);

}  // namespace impasto::cli
