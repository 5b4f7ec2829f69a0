#include "job_report.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "impasto/core/error.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"

namespace impasto::server {

namespace fs = std::filesystem;

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// A PNG copy of an input, at most 512 px on its longest side (browsers cannot show every input format).
void thumbnail(const std::string& from, const std::string& to) {
  at::Tensor image = read_image(from).rgb;
  const int64_t side = std::max(image.size(2), image.size(3));
  if (side > 512) {
    const double s = 512.0 / side;
    image = resize_image(image, std::max<int64_t>(1, std::llround(image.size(2) * s)), std::max<int64_t>(1, std::llround(image.size(3) * s)));
  }
  write_image(to, image);
}

std::string figure(const std::string& file, const std::string& caption) {
  return "<figure><img src=\"" + html_escape(file) + "\" alt=\"" + html_escape(caption) + "\"><figcaption>" +
         html_escape(caption) + "</figcaption></figure>\n";
}

std::string number(double v) {
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}

}  // namespace

void write_job_report(const std::string& job_dir, const Json& request, const Json& summary) {
  const fs::path dir = fs::path(job_dir) / "report";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw FileError(dir.string(), "cannot create: " + ec.message());
  std::ostringstream figures;
  thumbnail(job_dir + "/" + request.value("content", std::string()), (dir / "content.png").string());
  figures << figure("content.png", "content");
  int i = 0;
  for (const auto& s : request.value("styles", Json::array())) {
    const std::string name = "style-" + std::to_string(++i) + ".png";
    thumbnail(job_dir + "/" + s.get<std::string>(), (dir / name).string());
    figures << figure(name, "style " + std::to_string(i));
  }
  const std::string format = request.value("format", std::string("png"));
  const std::string result = job_dir + "/result." + (format == "jpeg" ? "jpg" : format);
  thumbnail(result, (dir / "result.png").string());
  figures << figure("result.png", "result");

  std::ostringstream body;
  body << "<h2>Images</h2><div class=\"row\">" << figures.str() << "</div>\n";
  if (fs::exists(job_dir + "/result.losses.png")) {
    fs::copy_file(job_dir + "/result.losses.png", dir / "losses.png", fs::copy_options::overwrite_existing, ec);
    body << "<h2>Loss curves</h2>" << figure("losses.png", "weighted loss terms and the style loss of each layer, per step");
  }
  const Json fin = summary.value("final", Json());
  if (fin.is_object()) {
    body << "<h2>Final losses (weighted, as they enter the total)</h2><table><tr><th>term</th><th>layer</th><th>value</th></tr>\n";
    for (const char* term : {"content", "style", "tv"}) {
      if (fin.contains(term)) body << "<tr><td>" << term << "</td><td>all</td><td>" << number(fin[term].get<double>()) << "</td></tr>\n";
      const std::string layers = std::string(term) + "_layers";
      if (fin.contains(layers))
        for (auto it = fin[layers].begin(); it != fin[layers].end(); ++it)
          body << "<tr><td>" << term << "</td><td>" << html_escape(it.key()) << "</td><td>" << number(it.value().get<double>()) << "</td></tr>\n";
    }
    body << "</table>\n";
  }
  body << "<h2>Run</h2><table>\n";
  for (const char* key : {"method", "network", "width", "height", "seconds", "device"})
    if (summary.contains(key)) body << "<tr><td>" << key << "</td><td>" << html_escape(summary[key].dump()) << "</td></tr>\n";
  if (summary.contains("options"))
    for (auto it = summary["options"].begin(); it != summary["options"].end(); ++it)
      body << "<tr><td>" << html_escape(it.key()) << "</td><td>" << html_escape(it.value().dump()) << "</td></tr>\n";
  body << "</table>\n";

  std::ofstream out(dir / "index.html", std::ios::trunc);
  out << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>impasto job report</title>"
         "<style>body{font:15px system-ui,sans-serif;margin:2em;color:#222}figure{display:inline-block;margin:0 1em 1em 0}"
         "img{max-width:360px;border:1px solid #ccc}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}"
         "</style></head><body><h1>impasto job report</h1>\n"
      << body.str() << "</body></html>\n";
  if (!out) throw FileError((dir / "index.html").string(), "cannot write");
}

}  // namespace impasto::server
