#pragma once
// Helpers for the plain HTML reports (training runs' report.html, explain's report.html).
#include <string>

namespace impasto {

// Escapes &, <, > and " so that `text` can go into HTML text and attribute values.
inline std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace impasto
