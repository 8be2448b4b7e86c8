// Shared by the fuzz targets: invariant checks that stop the run as a crash
// (libFuzzer then saves the input), a temporary directory per target, and a
// helper for splitting inputs.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

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

// True when `text` may name a device or a kernel file (/dev/zero,
// /proc/self/fd/0, ...). Targets whose inputs name files to read skip such
// inputs: reading one would block or never end, which says nothing about
// reins.
inline bool NamesSpecialFile(std::string_view text) {
  for (std::string_view special : {"dev/", "proc/", "sys/", "fd/"}) {
    if (text.find(special) != std::string_view::npos) return true;
  }
  return false;
}

namespace internal {
inline std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}
inline void RemoveTempDirs() {
  std::error_code ec;
  for (const std::string& d : TempDirs()) std::filesystem::remove_all(d, ec);
}
}  // namespace internal

// A fresh directory under $TMPDIR, removed when the run ends normally; after
// a crash it stays, with what the crashing input left in it.
inline std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) {
    perror("mkdtemp");
    abort();
  }
  if (internal::TempDirs().empty()) std::atexit(internal::RemoveTempDirs);
  internal::TempDirs().push_back(tmpl);
  return tmpl;
}

}  // namespace reins::fuzz
