#include "cli/table.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace reins {

namespace {

// Display width of UTF-8 text, counting code points (good enough for tables).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string Cut(const std::string& s, size_t max_width) {
  if (Width(s) <= max_width) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++n > max_width - 3) break;
    out += s[i];
  }
  return out + "...";
}

void Table::AddRow(std::vector<std::string> cells, std::vector<std::string> colors) {
  for (std::string& c : cells) std::replace(c.begin(), c.end(), '\n', ' ');
  cells.resize(headers_.size());
  colors.resize(headers_.size());
  rows_.push_back(std::move(cells));
  colors_.push_back(std::move(colors));
}

std::vector<size_t> Table::Widths(size_t max_width) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = Width(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], Width(Cut(row[i], max_width)));
    }
  }
  return widths;
}

void Table::Write(std::ostream& out, bool color, size_t max_width,
                  const std::vector<size_t>& widths, bool header) const {
  auto line = [&](const std::vector<std::string>& cells, const std::vector<std::string>* colors,
                  bool bold) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      bool last = i + 1 == cells.size();
      std::string cell = Cut(cells[i], last ? max_width : std::min(max_width, widths[i]));
      std::string pad = last ? "" : std::string(widths[i] - Width(cell) + 2, ' ');
      std::string code = bold ? "1" : (colors ? (*colors)[i] : "");
      if (color && !code.empty()) {
        text += "\033[" + code + "m" + cell + "\033[0m" + pad;
      } else {
        text += cell + pad;
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  };
  if (header) line(headers_, nullptr, true);
  for (size_t r = 0; r < rows_.size(); ++r) line(rows_[r], &colors_[r], false);
}

void Table::Print(std::ostream& out, bool color, size_t max_width) const {
  Write(out, color, max_width, Widths(max_width), true);
}

void Table::Flush(std::ostream& out, bool color, size_t max_width) {
  bool first = fixed_.empty();
  if (first) fixed_ = Widths(max_width);
  Write(out, color, max_width, fixed_, first);
  rows_.clear();
  colors_.clear();
}

bool UseColor(int fd) { return isatty(fd) && std::getenv("NO_COLOR") == nullptr; }

std::string VerdictColor(const std::string& verdict) {
  if (verdict == "allow") return "32";
  if (verdict == "deny") return "31";
  if (verdict == "ask") return "33";
  if (verdict == "modify") return "36";
  return "";
}

}  // namespace reins
