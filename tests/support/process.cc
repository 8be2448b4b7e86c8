#include "tests/support/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

ProcessResult Run(const std::vector<std::string>& argv, const std::string& input,
                  const std::string& cwd, const std::map<std::string, std::string>& env) {
  std::string in_path = TempPath("stdin"), out_path = TempPath("stdout"),
              err_path = TempPath("stderr");
  WriteFile(in_path, input);

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
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_TRUNC, 0);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ProcessResult result;
  if (rc == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    result.err = "cannot start " + argv[0] + ": " + std::strerror(rc);
  }
  if (rc == 0) {
    result.out = ReadFile(out_path);
    result.err = ReadFile(err_path);
  }
  for (const std::string& p : {in_path, out_path, err_path}) std::remove(p.c_str());
  return result;
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

}  // namespace reins::testing
