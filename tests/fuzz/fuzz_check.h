// Shared by the fuzz targets: invariant checks that stop the run as a crash
// (libFuzzer then saves the input), and small helpers for splitting inputs.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace reins::fuzz {

// An invariant of the code under test is broken: report and abort, so that
// libFuzzer records the input as a crash.
[[noreturn]] inline void Fail(const char* file, int line, const char* cond,
                              const std::string& detail) {
  fprintf(stderr, "%s:%d: invariant broken: %s\n  %s\n", file, line, cond, detail.c_str());
  abort();
}

#define FUZZ_CHECK(cond, detail)                                           \
  do {                                                                     \
    if (!(cond)) ::reins::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// Splits `text` at the first `sep`: the part before in *head, the rest
// after it in *tail (empty when there is no separator).
inline void SplitAt(std::string_view text, std::string_view sep, std::string_view* head,
                    std::string_view* tail) {
  size_t at = text.find(sep);
  if (at == std::string_view::npos) {
    *head = text;
    *tail = {};
  } else {
    *head = text.substr(0, at);
    *tail = text.substr(at + sep.size());
  }
}

}  // namespace reins::fuzz
