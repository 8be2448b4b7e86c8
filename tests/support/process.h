// Test support: run a real program (usually the `reins` binary) and capture
// what it prints. Output goes through temporary files, so a chatty child can
// never block on a full pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
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

// A program running in the background, its stdout and stderr both written to
// `log_path`. The destructor kills it if it still runs.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, std::string log_path,
                    const std::string& cwd = "",
                    const std::map<std::string, std::string>& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  void Signal(int sig);
  // Its process id while it runs (-1 once waited for).
  pid_t pid() const { return pid_; }
  // Waits for it to exit; returns its exit status, or 128 + signal.
  int Wait();
  // Wait() for at most `timeout` (0: just check); nullopt while it runs.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);
  // What it has printed so far.
  std::string Output() const;
  // Waits until its output contains `text`; false after `timeout`.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout);

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Runs a shell command line with /bin/sh -c.
ProcessResult Shell(const std::string& command, const std::string& cwd = "",
                    const std::map<std::string, std::string>& env = {});

// The `reins` binary under test ($REINS_BIN, set by ctest) and the source tree.
std::string ReinsBin();
std::string SourceDir();

std::string ReadFile(const std::string& path);
// `text` split at each '\n' (a final newline adds no empty line).
std::vector<std::string> Lines(const std::string& text);
void WriteFile(const std::string& path, const std::string& content);

}  // namespace reins::testing
