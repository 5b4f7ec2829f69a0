#pragma once
// The explanation report as a folder, viewable offline:
//
//   report.html         sections in order, each with its text, tables and figures; images are
//                       referenced by relative path, so the folder can be copied or zipped as is
//   report.json         the index: title, kind, summary rows, every section (id, title, status:
//                       "done" or "skipped", the reason when skipped) with its figures (PNG and JSON
//                       file names, caption) and tables, and the time each section took
//   figures/<name>.png  every figure as a picture
//   figures/<name>.json its numbers (what was drawn, so nothing has to be read off a picture)
//   inputs/...          the images the report is about (content, styles, result)
//
// Sections are written in the order they are opened; a section that was not made (quick mode,
// nothing to show, interrupted) is still listed, with the reason.
#include <ATen/core/Tensor.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/core/text.h"  // format_number, for tables and captions

namespace impasto::explain {

class ReportWriter {
 public:
  // Creates `dir`, `dir/figures` and `dir/inputs`; FileError when it cannot.
  ReportWriter(std::string dir, std::string title, std::string kind);

  const std::string& dir() const { return dir_; }

  // A row of the summary table at the top.
  void summary(const std::string& key, const std::string& value);
  void summary(const std::string& key, double value);

  // Starts a section (ending the previous one). `intro` is plain text (escaped).
  void section(const std::string& id, const std::string& title, const std::string& intro = "");
  // Marks the current section as not made, with the reason shown in its place.
  void skip(const std::string& reason);
  void paragraph(const std::string& text);
  // A table of plain-text cells (escaped); also recorded in report.json.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // Writes figures/<name>.png and figures/<name>.json (`numbers`) and shows the picture with its
  // caption. `display_width` > 0 sets the width in the page (the PNG keeps its pixels).
  void figure(const std::string& name, const at::Tensor& image, const Json& numbers, const std::string& caption,
              int64_t display_width = 0);
  // Writes inputs/<file> (an image) and returns its relative path, for image().
  std::string input_image(const std::string& file, const at::Tensor& image);
  // Shows an image already written under the folder (relative path) with a caption.
  void image(const std::string& relative_path, const std::string& caption, int64_t display_width = 0);

  // Extra top-level entries of report.json (e.g. the options used).
  void set_json(const std::string& key, const Json& value) { extra_[key] = value; }

  // Writes report.html and report.json; returns the path of report.html.
  std::string finish();

 private:
  void end_section();

  std::string dir_, title_, kind_;
  std::vector<std::pair<std::string, std::string>> summary_;
  std::string body_;      // HTML of the finished sections
  std::string current_;   // HTML of the open section
  Json sections_ = Json::array();
  Json section_;          // the open section's entry
  std::chrono::steady_clock::time_point section_start_;
  Json extra_ = Json::object();
  std::vector<std::string> names_;  // figure names used (must be unique)
};

}  // namespace impasto::explain
