// Hook latency: from starting a hook process to its exit with the answer,
// as a harness runs `reins hook claude` once per tool call.
//
//   hook_latency REINS [--runs 200] [--config examples/server.yaml]
//
// Three commands get the same PreToolUse hook JSON (a Bash call the example
// policies allow; a new tool_use_id each time, one growing session):
//   embedded   reins hook claude --config CONFIG --db TMP/reins.db
//   server     reins hook claude --server unix:TMP/reins.sock (a `reins
//              serve` started here on that socket and a fresh log)
//   python     python3 -c 'import json,sys; json.load(sys.stdin)': the floor
//              for any hook written in Python
// They run interleaved, so a disturbance hits all three alike. Prints
//   hook_embedded_p50 X ms      hook_embedded_p99 X ms
//   hook_server_unix_p50 X ms   hook_server_unix_p99 X ms
//   hook_python_json_p50 X ms   hook_python_json_p99 X ms
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Runs argv with `input_path` on stdin and stdout/stderr to /dev/null;
// returns the wall time in ms, or -1 when it failed.
double TimeRun(const std::vector<std::string>& argv, const std::string& input_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, input_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  auto start = Clock::now();
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

std::string Python() {
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Hook process latency: embedded, through the server, and a Python floor");
  std::string reins, config = std::string(REINS_SOURCE_DIR) + "/examples/server.yaml";
  int runs = 200;
  app.add_option("reins", reins, "The reins binary")->required();
  app.add_option("--runs", runs, "Runs of each command");
  app.add_option("--config", config, "Server configuration");
  CLI11_PARSE(app, argc, argv);
  reins = fs::absolute(reins).string();

  char tmpl[] = "/tmp/reins-hook-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  std::string dir = tmpl;
  std::string socket = dir + "/reins.sock";

  // The server: its own log, tokens written on first start.
  pid_t server = -1;
  {
    std::vector<std::string> sa = {
        reins,         "serve",        "--config",    config, "--socket",
        socket,        "--listen",     "127.0.0.1:0", "--db", dir + "/server.db",
        "--token-dir", dir + "/tokens"};
    std::vector<char*> args;
    for (auto& a : sa) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, (dir + "/serve.log").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn(&server, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 200 && access(socket.c_str(), F_OK) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (access(socket.c_str(), F_OK) != 0) {
      std::cerr << "reins serve did not start; see " << dir << "/serve.log\n";
      return 1;
    }
  }

  std::map<std::string, std::vector<std::string>> commands = {
      {"hook_embedded", {reins, "hook", "claude", "--config", config, "--db", dir + "/hook.db"}},
      {"hook_server_unix",
       {reins, "hook", "claude", "--server", "unix:" + socket, "--token-file",
        dir + "/tokens/admin.token"}},
      {"hook_python_json", {Python(), "-c", "import json,sys; json.load(sys.stdin)"}},
  };
  std::map<std::string, std::vector<double>> times;
  std::string input = dir + "/hook.json";
  int failures = 0;
  for (int i = -5; i < runs; ++i) {  // five warm-up rounds
    std::ofstream(input, std::ios::trunc)
        << R"({"hook_event_name":"PreToolUse","session_id":"bench-hook","cwd":"/work",)"
        << R"("transcript_path":"/nonexistent/t.jsonl","tool_name":"Bash",)"
        << R"("tool_input":{"command":"ls -la src"},"tool_use_id":"toolu_)" << i + 5 << "\"}";
    for (const auto& [name, cmd] : commands) {
      double ms = TimeRun(cmd, input);
      if (ms < 0) {
        ++failures;
        continue;
      }
      if (i >= 0) times[name].push_back(ms);
    }
  }
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  fs::remove_all(dir);

  std::printf("hook latency over %d runs each (process start to exit, median and p99):\n", runs);
  for (const auto& [name, t] : times) {
    std::printf("  %-18s %7.2f ms  %7.2f ms\n", name.c_str(), Percentile(t, 0.5),
                Percentile(t, 0.99));
  }
  for (const auto& [name, t] : times) {
    std::printf("%s_p50 %.2f ms\n%s_p99 %.2f ms\n", name.c_str(), Percentile(t, 0.5), name.c_str(),
                Percentile(t, 0.99));
  }
  if (failures) std::fprintf(stderr, "%d runs failed\n", failures);
  return failures ? 1 : 0;
}
