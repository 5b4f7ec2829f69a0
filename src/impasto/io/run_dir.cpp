#include "impasto/io/run_dir.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "impasto/core/error.h"
#include "impasto/io/chart.h"
#include "impasto/io/html.h"
#include "impasto/io/image.h"
#include "impasto/io/text_file.h"

namespace impasto {
namespace fs = std::filesystem;

namespace {

std::string step_name(int64_t step, const std::string& extension) {
  char name[64];
  std::snprintf(name, sizeof(name), "step-%06lld%s", static_cast<long long>(step), extension.c_str());
  return name;
}

}  // namespace

RunFolder::RunFolder(std::string path) : path_(std::move(path)) {
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
}

RunDirectory::RunDirectory(std::string path) : RunFolder(std::move(path)) {
  for (const std::string& sub : {std::string(), std::string("/checkpoints"), std::string("/samples"), std::string("/charts")}) {
    std::error_code ec;
    fs::create_directories(this->path() + sub, ec);
    if (ec || !fs::is_directory(this->path() + sub)) throw FileError(this->path() + sub, "cannot create folder: " + ec.message());
  }
}

void RunDirectory::write_config(const Json& config) const {
  write_file_atomically(file("config.json"), config.dump(2) + "\n");
}

Json RunFolder::read_config() const {
  const std::string path = file("config.json");
  if (!fs::exists(path)) throw FileError(path, "no config.json: not a run folder");
  try {
    return Json::parse(read_whole_file(path));
  } catch (const Json::exception& e) {
    throw FormatError(path, std::string("not valid JSON: ") + e.what());
  }
}

void RunDirectory::append_log(const Json& record) const {
  std::ofstream out(file("log.jsonl"), std::ios::app);
  if (!out) throw FileError(file("log.jsonl"), "cannot append");
  out << record.dump() << "\n";
}

std::vector<Json> RunFolder::read_log() const {
  std::vector<Json> records;
  std::ifstream in(file("log.jsonl"));
  if (!in) return records;
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      records.push_back(Json::parse(line));
    } catch (const Json::exception&) {
      if (in.peek() == EOF) break;  // a line torn by a crash while writing: drop it
      throw FormatError(file("log.jsonl"), "line " + std::to_string(number) + " is not JSON");
    }
  }
  return records;
}

void RunDirectory::truncate_log_after(int64_t step) const {
  std::string kept;
  for (const Json& record : read_log())
    if (record.value("step", int64_t{0}) <= step) kept += record.dump() + "\n";
  write_file_atomically(file("log.jsonl"), kept);
}

void RunDirectory::write_checkpoint(const Checkpoint& checkpoint, int64_t step, int keep) const {
  const std::string step_file = file("checkpoints/" + step_name(step, ".ckpt"));
  save_checkpoint(step_file + ".tmp", checkpoint);
  std::error_code ec;
  fs::rename(step_file + ".tmp", step_file, ec);
  if (ec) throw FileError(step_file, "cannot rename: " + ec.message());
  const std::string latest = file("checkpoints/latest.ckpt");
  fs::copy_file(step_file, latest + ".tmp", fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(latest + ".tmp", latest, ec);
  if (ec) throw FileError(latest, "cannot update: " + ec.message());
  if (keep > 0) {
    std::vector<std::string> steps;
    for (const auto& entry : fs::directory_iterator(file("checkpoints"))) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("step-", 0) == 0 && entry.path().extension() == ".ckpt") steps.push_back(entry.path().string());
    }
    std::sort(steps.begin(), steps.end());
    for (size_t i = 0; i + keep < steps.size(); ++i) fs::remove(steps[i], ec);
  }
}

void RunDirectory::write_model(const std::string& relative, const Checkpoint& model) const {
  const std::string path = file(relative);
  save_checkpoint(path + ".tmp", model);
  std::error_code ec;
  fs::rename(path + ".tmp", path, ec);
  if (ec) throw FileError(path, "cannot rename: " + ec.message());
}

std::string RunFolder::latest_checkpoint() const {
  const std::string latest = file("checkpoints/latest.ckpt");
  return fs::exists(latest) ? latest : "";
}

std::string RunFolder::sample_file(int64_t step) { return "samples/" + step_name(step, ".png"); }
std::string RunFolder::sample_path(int64_t step) const { return file(sample_file(step)); }

void write_run_report(const RunDirectory& run, const RunReport& report) {
  const std::vector<Json> log = run.read_log();
  std::ostringstream html;
  html << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" << html_escape(report.title)
       << "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
          "img{max-width:100%;image-rendering:pixelated}.charts img{width:640px;margin:4px}"
          "figure{display:inline-block;margin:6px}figcaption{font-size:90%;color:#555}"
          "pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:24em}</style></head><body>\n";
  html << "<h1>" << html_escape(report.title) << "</h1>\n<table>\n";
  for (const auto& [key, value] : report.summary)
    html << "<tr><th>" << html_escape(key) << "</th><td>" << html_escape(value) << "</td></tr>\n";
  html << "</table>\n<h2>Curves</h2>\n<div class=\"charts\">\n";
  int index = 0;
  for (const ReportChart& chart : report.charts) {
    std::vector<ChartSeries> series;
    for (const std::string& key : chart.keys) {
      ChartSeries s{key, {}, {}};
      for (const Json& record : log) {
        auto it = record.find(key);
        const auto x = record.find(chart.x_key);
        if (it == record.end() || !it->is_number() || x == record.end() || !x->is_number()) continue;
        s.x.push_back(x->get<double>());
        s.y.push_back(it->get<double>());
      }
      if (!s.x.empty()) series.push_back(std::move(s));
    }
    if (series.empty()) continue;
    const std::string name = "charts/chart-" + std::to_string(index++) + ".png";
    ChartOptions options;
    options.title = chart.title;
    options.log_y = chart.log_y;
    options.x_label = chart.x_label;
    write_image(run.file(name), line_chart(series, options));
    html << "<img src=\"" << name << "\" alt=\"" << html_escape(chart.title) << "\">\n";
  }
  if (index == 0) html << "<p>No logged steps yet.</p>\n";
  html << "</div>\n<h2>Samples over training</h2>\n<p>" << html_escape(report.samples_caption) << "</p>\n";
  if (fs::exists(run.real_samples_path()))
    html << "<figure><img src=\"samples/real.png\" width=\"320\"><figcaption>training data</figcaption></figure>\n";
  std::vector<std::string> samples;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run.file("samples"), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) == 0 && entry.path().extension() == ".png") samples.push_back(name);
  }
  std::sort(samples.begin(), samples.end());
  for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
    const std::string step = it->substr(5, it->size() - 9);
    html << "<figure><img src=\"samples/" << *it << "\" width=\"320\"><figcaption>step "
         << std::stoll(step) << "</figcaption></figure>\n";
  }
  std::string config;
  try {
    config = run.read_config().dump(2);
  } catch (const Error&) {
  }
  html << "<h2>Configuration</h2>\n<pre>" << html_escape(config) << "</pre>\n</body></html>\n";
  write_file_atomically(run.file("report.html"), html.str());
}

}  // namespace impasto
