#include "impasto/explain/report.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "impasto/core/error.h"
#include "impasto/io/html.h"
#include "impasto/io/image.h"
#include "impasto/io/text_file.h"

namespace impasto::explain {
namespace fs = std::filesystem;

namespace {

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return name.find("..") == std::string::npos;
}

std::string width_attribute(int64_t width) {
  return width > 0 ? " style=\"width:" + std::to_string(width) + "px\"" : "";
}

}  // namespace

ReportWriter::ReportWriter(std::string dir, std::string title, std::string kind)
    : dir_(std::move(dir)), title_(std::move(title)), kind_(std::move(kind)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  for (const std::string& sub : {std::string(), std::string("/figures"), std::string("/inputs")}) {
    std::error_code ec;
    fs::create_directories(dir_ + sub, ec);
    if (ec || !fs::is_directory(dir_ + sub)) throw FileError(dir_ + sub, "cannot create folder" + (ec ? ": " + ec.message() : ""));
  }
}

void ReportWriter::summary(const std::string& key, const std::string& value) { summary_.emplace_back(key, value); }
void ReportWriter::summary(const std::string& key, double value) { summary_.emplace_back(key, format_number(value)); }

void ReportWriter::section(const std::string& id, const std::string& title, const std::string& intro) {
  end_section();
  section_ = Json{{"id", id}, {"title", title}, {"status", "done"}, {"figures", Json::array()}, {"tables", Json::array()}};
  section_start_ = std::chrono::steady_clock::now();
  current_ = "<section id=\"" + html_escape(id) + "\">\n<h2>" + html_escape(title) + "</h2>\n";
  if (!intro.empty()) current_ += "<p>" + html_escape(intro) + "</p>\n";
}

void ReportWriter::skip(const std::string& reason) {
  if (section_.is_null()) throw OptionError("section", "skip() outside a section");
  section_["status"] = "skipped";
  section_["reason"] = reason;
  current_ += "<p class=\"skipped\">Not made: " + html_escape(reason) + "</p>\n";
}

void ReportWriter::paragraph(const std::string& text) { current_ += "<p>" + html_escape(text) + "</p>\n"; }

void ReportWriter::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table>\n<tr>";
  for (const auto& h : header) html += "<th>" + html_escape(h) + "</th>";
  html += "</tr>\n";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const auto& cell : row) html += "<td>" + html_escape(cell) + "</td>";
    html += "</tr>\n";
  }
  current_ += html + "</table>\n";
  if (!section_.is_null()) section_["tables"].push_back(Json{{"header", header}, {"rows", rows}});
}

void ReportWriter::figure(const std::string& name, const at::Tensor& image, const Json& numbers, const std::string& caption,
                          int64_t display_width) {
  if (!valid_name(name)) throw OptionError("figure", "bad figure name '" + name + "'");
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) throw OptionError("figure", "figure '" + name + "' written twice");
  names_.push_back(name);
  const std::string png = "figures/" + name + ".png", json = "figures/" + name + ".json";
  write_image(dir_ + "/" + png, image);
  write_file_atomically(dir_ + "/" + json, numbers.dump(1) + "\n");
  current_ += "<figure><a href=\"" + png + "\"><img src=\"" + png + "\" alt=\"" + html_escape(name) + "\"" +
              width_attribute(display_width) + "></a><figcaption>" + html_escape(caption) + " <a href=\"" + json +
              "\">numbers</a></figcaption></figure>\n";
  if (!section_.is_null())
    section_["figures"].push_back(Json{{"name", name}, {"png", png}, {"json", json}, {"caption", caption}});
}

std::string ReportWriter::input_image(const std::string& file, const at::Tensor& image) {
  if (!valid_name(file)) throw OptionError("figure", "bad input file name '" + file + "'");
  const std::string relative = "inputs/" + file;
  write_image(dir_ + "/" + relative, image);
  return relative;
}

void ReportWriter::image(const std::string& relative_path, const std::string& caption, int64_t display_width) {
  current_ += "<figure><a href=\"" + html_escape(relative_path) + "\"><img src=\"" + html_escape(relative_path) +
              "\" alt=\"" + html_escape(caption) + "\"" + width_attribute(display_width) + "></a><figcaption>" +
              html_escape(caption) + "</figcaption></figure>\n";
  if (!section_.is_null()) section_["images"].push_back(Json{{"path", relative_path}, {"caption", caption}});
}

void ReportWriter::end_section() {
  if (section_.is_null()) return;
  section_["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - section_start_).count();
  sections_.push_back(section_);
  body_ += current_ + "</section>\n";
  current_.clear();
  section_ = Json();
}

std::string ReportWriter::finish() {
  end_section();
  std::ostringstream html;
  html << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" << html_escape(title_)
       << "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1500px;color:#222}"
          "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
          "img{max-width:100%}figure{display:inline-block;margin:6px;vertical-align:top}"
          "figcaption{font-size:90%;color:#555;max-width:640px}nav a{margin-right:1em}"
          ".skipped{color:#a60}section{border-top:1px solid #ddd;margin-top:1.5em}</style></head><body>\n";
  html << "<h1>" << html_escape(title_) << "</h1>\n<nav>";
  for (const auto& s : sections_)
    html << "<a href=\"#" << html_escape(s["id"].get<std::string>()) << "\">" << html_escape(s["title"].get<std::string>()) << "</a>";
  html << "</nav>\n<table>\n";
  for (const auto& [key, value] : summary_) html << "<tr><th>" << html_escape(key) << "</th><td>" << html_escape(value) << "</td></tr>\n";
  html << "</table>\n" << body_ << "</body></html>\n";
  write_file_atomically(dir_ + "/report.html", html.str());

  Json index = extra_;
  index["title"] = title_;
  index["kind"] = kind_;
  Json summary = Json::object();
  for (const auto& [key, value] : summary_) summary[key] = value;
  index["summary"] = summary;
  index["sections"] = sections_;
  write_file_atomically(dir_ + "/report.json", index.dump(2) + "\n");
  return dir_ + "/report.html";
}

}  // namespace impasto::explain
