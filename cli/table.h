// Aligned text tables for the CLI, coloured when writing to a terminal.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace reins {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Adds a row; `colors` (optional, per cell) are ANSI SGR codes such as "31".
  void AddRow(std::vector<std::string> cells, std::vector<std::string> colors = {});

  // Writes the table. Cells longer than `max_width` are cut with "...";
  // colour is used only when `color` is true.
  void Print(std::ostream& out, bool color, size_t max_width = 60) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::vector<std::string>> colors_;
};

// `s` cut to `max_width` code points, ending in "..." when it was longer
// (never inside a UTF-8 sequence).
std::string Cut(const std::string& s, size_t max_width);

// True when file descriptor `fd` is a terminal and NO_COLOR is unset.
bool UseColor(int fd);

// ANSI colour for a verdict name ("" for unknown).
std::string VerdictColor(const std::string& verdict);

}  // namespace reins
