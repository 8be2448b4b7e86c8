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

  // For long listings: writes the rows added so far and forgets them. The
  // first call writes the header and fixes the column widths from the rows
  // it has; later rows are cut to those widths.
  void Flush(std::ostream& out, bool color, size_t max_width = 60);

 private:
  std::vector<size_t> Widths(size_t max_width) const;
  void Write(std::ostream& out, bool color, size_t max_width, const std::vector<size_t>& widths,
             bool header) const;

  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::vector<std::string>> colors_;
  std::vector<size_t> fixed_;  // the widths Flush fixed (empty before it ran)
};

// `s` cut to `max_width` code points, ending in "..." when it was longer
// (never inside a UTF-8 sequence).
std::string Cut(const std::string& s, size_t max_width);

// True when file descriptor `fd` is a terminal and NO_COLOR is unset.
bool UseColor(int fd);

// ANSI colour for a verdict name ("" for unknown).
std::string VerdictColor(const std::string& verdict);

}  // namespace reins
