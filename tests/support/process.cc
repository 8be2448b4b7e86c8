#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace reins::testing {

namespace {

std::string TempPath(const char* tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "reins-proc-XXXXXX").string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) throw std::runtime_error(std::string("mkstemp failed for ") + tag);
  close(fd);
  return tmpl;
}

}  // namespace

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

namespace {

// Starts argv with stdin, stdout and stderr from/to the given files (stdout
// and stderr may be the same file). Returns 0 or an errno.
int Start(const std::vector<std::string>& argv, const std::string& in_path,
          const std::string& out_path, const std::string& err_path, const std::string& cwd,
          const std::map<std::string, std::string>& env, pid_t* pid) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (!env.count(key)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_TRUNC, 0);
  if (err_path == out_path) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_TRUNC, 0);
  }
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  int rc = posix_spawnp(pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

ProcessResult Run(const std::vector<std::string>& argv, const std::string& input,
                  const std::string& cwd, const std::map<std::string, std::string>& env) {
  std::string in_path = TempPath("stdin"), out_path = TempPath("stdout"),
              err_path = TempPath("stderr");
  WriteFile(in_path, input);
  pid_t pid;
  int rc = Start(argv, in_path, out_path, err_path, cwd, env, &pid);
  ProcessResult result;
  if (rc == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = ExitCode(status);
    result.out = ReadFile(out_path);
    result.err = ReadFile(err_path);
  } else {
    result.err = "cannot start " + argv[0] + ": " + std::strerror(rc);
  }
  for (const std::string& p : {in_path, out_path, err_path}) std::remove(p.c_str());
  return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, std::string log_path,
                                     const std::string& cwd,
                                     const std::map<std::string, std::string>& env)
    : log_path_(std::move(log_path)) {
  WriteFile(log_path_, "");
  int rc = Start(argv, "/dev/null", log_path_, log_path_, cwd, env, &pid_);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) {
    Signal(SIGKILL);
    Wait();
  }
}

void BackgroundProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int BackgroundProcess::Wait() {
  if (pid_ <= 0) return exit_code_;
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  exit_code_ = ExitCode(status);
  return exit_code_;
}

std::optional<int> BackgroundProcess::WaitFor(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_code_ = ExitCode(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

std::string BackgroundProcess::Output() const { return ReadFile(log_path_); }

bool BackgroundProcess::WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Output().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

ProcessResult Shell(const std::string& command, const std::string& cwd,
                    const std::map<std::string, std::string>& env) {
  return Run({"/bin/sh", "-c", command}, "", cwd, env);
}

std::string ReinsBin() {
  const char* bin = std::getenv("REINS_BIN");
  if (!bin) throw std::runtime_error("REINS_BIN is not set (run the tests through ctest)");
  return bin;
}

std::string SourceDir() { return REINS_SOURCE_DIR; }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace reins::testing
