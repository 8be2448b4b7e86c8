// Test support: run a real program (usually the `reins` binary) and capture
// what it prints. Output goes through temporary files, so a chatty child can
// never block on a full pipe.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace reins::testing {

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH when it has no '/') with `input` on stdin,
// in `cwd` (empty: the current directory), with `env` added to the
// environment. Blocks until the program exits.
ProcessResult Run(const std::vector<std::string>& argv, const std::string& input = "",
                  const std::string& cwd = "", const std::map<std::string, std::string>& env = {});

// Runs a shell command line with /bin/sh -c.
ProcessResult Shell(const std::string& command, const std::string& cwd = "",
                    const std::map<std::string, std::string>& env = {});

// The `reins` binary under test ($REINS_BIN, set by ctest) and the source tree.
std::string ReinsBin();
std::string SourceDir();

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);

}  // namespace reins::testing
