#include "progress_bar.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace impasto::cli {

ProgressBar::ProgressBar() : tty_(isatty(STDERR_FILENO) != 0) {}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

static std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, (v != 0 && (std::fabs(v) < 1e-3 || std::fabs(v) >= 1e5)) ? "%.3e" : "%.4f", v);
  return buf;
}

void ProgressBar::update(const ProgressEvent& e) {
  const auto now = std::chrono::steady_clock::now();
  const bool last = e.step >= e.total;
  if (e.stage != stage_) {
    if (open_line_) std::fputc('\n', stderr);
    open_line_ = false;
    stage_ = e.stage;
  }
  const double rate = e.elapsed_s > 0 ? e.step / e.elapsed_s : 0;
  const double eta = rate > 0 ? (e.total - e.step) / rate : NAN;
  std::ostringstream line;
  line << e.stage << " ";
  if (tty_) {
    if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
    constexpr int width = 24;
    const int filled = e.total > 0 ? static_cast<int>(width * e.step / e.total) : 0;
    line << '[' << std::string(filled, '=') << (filled < width ? ">" : "") << std::string(std::max(0, width - filled - 1), ' ') << "] ";
  } else {
    const int64_t every = std::max<int64_t>(1, e.total / 10);
    if (!last && e.step % every != 0 && e.step != 1) return;
  }
  char rate_buf[32];
  std::snprintf(rate_buf, sizeof rate_buf, "%.2f it/s", rate);
  line << e.step << "/" << e.total << " " << rate_buf << " ETA " << format_duration(eta);
  for (const auto& [name, value] : e.metrics) line << "  " << name << " " << format_number(value);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.str().c_str());
    open_line_ = true;
    if (last) {
      std::fputc('\n', stderr);
      open_line_ = false;
    }
  } else {
    std::fprintf(stderr, "%s\n", line.str().c_str());
  }
  std::fflush(stderr);
  last_draw_ = now;
}

void ProgressBar::finish() {
  if (open_line_) std::fputc('\n', stderr);
  open_line_ = false;
}

}  // namespace impasto::cli
