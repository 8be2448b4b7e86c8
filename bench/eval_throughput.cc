// `reins eval` throughput on a generated stream with an on-disk log.
//
//   eval_throughput REINS_BINARY [EVENTS=100000]
//
// Generates EVENTS canonical events (100 sessions of a coding agent: user
// requests, model calls with usage, tool calls and results), runs the real
// binary on them with bench/policies.yaml and a fresh SQLite file, and prints
//   eval_events N events
//   eval_throughput X events/s
//   eval_peak_rss Y MiB
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

void Generate(const std::string& path, int64_t total) {
  std::ofstream out(path);
  const int sessions = 100;
  int64_t per_session = total / sessions;
  int64_t written = 0;
  const char* tools[] = {"Bash", "Read", "Edit", "Grep"};
  for (int s = 0; s < sessions; ++s) {
    std::string id = "bench-" + std::to_string(s);
    auto emit = [&](nlohmann::json e) {
      e["session"] = id;
      char ts[40];
      snprintf(ts, sizeof ts, "2026-11-20T%02d:%02d:%02d.%03dZ", 8 + (int)(written / 3600000) % 12,
               (int)(written / 60000) % 60, (int)(written / 1000) % 60, (int)(written % 1000));
      e["ts"] = ts;
      out << e.dump() << '\n';
      ++written;
    };
    emit({{"type", "session_start"},
          {"user", "u" + std::to_string(s % 10)},
          {"agent", "coder"},
          {"harness", "claude-code"},
          {"model", "claude-sonnet-4-5"}});
    for (int64_t i = 1; i < per_session; ++i) {
      switch (i % 6) {
        case 1:
          emit({{"type", "request"}, {"text", "Fix the failing test in parser.py"}});
          break;
        case 2:
          emit({{"type", "llm_request"},
                {"model", "claude-sonnet-4-5"},
                {"messages_count", i},
                {"tools_count", 12}});
          break;
        case 3:
          emit({{"type", "llm_response"},
                {"model", "claude-sonnet-4-5"},
                {"usage",
                 {{"input_tokens", 1200},
                  {"output_tokens", 300},
                  {"cache_read_input_tokens", 20000}}}});
          break;
        case 4:
          emit({{"type", "tool_call"},
                {"tool", tools[i % 4]},
                {"call_id", "c" + std::to_string(i)},
                {"input", {{"command", "pytest -q tests/test_parser.py"}}}});
          break;
        default:
          emit({{"type", "tool_result"},
                {"tool", tools[(i - 1) % 4]},
                {"call_id", "c" + std::to_string(i - 1)},
                {"output", "1 passed"}});
          break;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s REINS_BINARY [EVENTS]\n", argv[0]);
    return 2;
  }
  int64_t events = argc > 2 ? std::atoll(argv[2]) : 100000;
  std::string dir =
      std::filesystem::temp_directory_path() / ("reins-throughput-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string input = dir + "/events.jsonl", db = dir + "/log.db";
  Generate(input, events);
  std::string policies = std::string(REINS_SOURCE_DIR) + "/bench/policies.yaml";

  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    execl(argv[1], argv[1], "eval", "--server", policies.c_str(), "--events", input.c_str(), "--db",
          db.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::filesystem::remove_all(dir);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "reins eval failed (status %d)\n", status);
    return 1;
  }
  printf("eval_events %lld events\n", static_cast<long long>(events));
  printf("eval_seconds %.3f s\n", seconds);
  printf("eval_throughput %.0f events/s\n", events / seconds);
  printf("eval_peak_rss %.1f MiB\n", usage.ru_maxrss / 1024.0);
  return 0;
}
