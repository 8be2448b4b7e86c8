// reins test: runs policy test files (policy_test.h) like a test runner.
//
// Output (docs/cli.md): "PASS  FILE: NAME" or "FAIL  FILE: NAME" per case,
// each failure of a failed case under it as "FILE:LINE: what" with the
// expected and the actual answer, then "N passed, N failed". With --json, one
// object {"cases": [...], "passed": N, "failed": N} instead. Exit status 0
// when every case passed, 1 when any failed, 2 when a file does not load
// (nothing runs then) or nothing matches.
#include <re2/re2.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/policy_test.h"
#include "cli/table.h"

namespace reins {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".test.yaml";

struct TestOptions {
  std::vector<std::string> paths;
  std::string run;
  bool json = false;
};

// The test files named by `path`: the file itself, or every *.test.yaml
// under a directory, in name order.
bool CollectFiles(const std::string& path, std::vector<std::string>* files) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::is_regular_file(path, ec)) {
      std::cerr << "reins test: " << path << ": no such file or directory\n";
      return false;
    }
    files->push_back(path);
    return true;
  }
  std::vector<std::string> found;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_regular_file(ec) && name.size() > kSuffix.size() &&
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
      found.push_back(it->path().string());
    }
  }
  if (ec) {
    std::cerr << "reins test: " << path << ": " << ec.message() << '\n';
    return false;
  }
  if (found.empty()) {
    std::cerr << "reins test: " << path << ": no *.test.yaml files\n";
    return false;
  }
  std::sort(found.begin(), found.end());
  files->insert(files->end(), found.begin(), found.end());
  return true;
}

std::string Paint(const std::string& text, const char* code, bool color) {
  return color ? "\033[" + std::string(code) + "m" + text + "\033[0m" : text;
}

int RunTests(const TestOptions& opt) {
  std::vector<std::string> files;
  bool ok = true;
  for (const std::string& p : opt.paths.empty() ? std::vector<std::string>{"."} : opt.paths) {
    ok = CollectFiles(p, &files) && ok;
  }
  std::unique_ptr<RE2> filter;
  if (!opt.run.empty()) {
    filter = std::make_unique<RE2>(opt.run, RE2::Quiet);
    if (!filter->ok()) {
      std::cerr << "reins test: --run: " << filter->error() << '\n';
      ok = false;
    }
  }
  PolicyTestLoader loader;
  std::vector<PolicyTestCase> cases;
  for (const std::string& file : files) {
    auto loaded = loader.Load(file);
    if (!loaded.ok()) {
      std::cerr << loaded.status().message() << '\n';
      ok = false;
      continue;
    }
    for (PolicyTestCase& c : *loaded) {
      if (!filter || RE2::PartialMatch(c.id(), *filter)) cases.push_back(std::move(c));
    }
  }
  if (!ok) return 2;
  if (cases.empty()) {
    std::cerr << "reins test: no case matches --run " << opt.run << '\n';
    return 2;
  }

  bool color = !opt.json && UseColor(1);
  Json results = Json::array();
  int passed = 0, failed = 0;
  for (const PolicyTestCase& c : cases) {
    auto failures = RunPolicyTestCase(c);
    if (!failures.ok()) {
      std::cerr << "reins test: " << c.id() << ": " << failures.status().message() << '\n';
      return 1;
    }
    bool pass = failures->empty();
    ++(pass ? passed : failed);
    if (opt.json) {
      Json list = Json::array();
      for (const TestFailure& f : *failures) {
        Json j = {{"where", f.where}, {"what", f.what}};
        if (!f.expected.empty()) j["expected"] = f.expected;
        if (!f.got.empty()) j["got"] = f.got;
        list.push_back(std::move(j));
      }
      results.push_back({{"file", c.file},
                         {"name", c.name},
                         {"line", c.line},
                         {"passed", pass},
                         {"failures", std::move(list)}});
      continue;
    }
    std::cout << (pass ? Paint("PASS", "32", color) : Paint("FAIL", "1;31", color)) << "  "
              << c.id() << '\n';
    for (const TestFailure& f : *failures) {
      std::cout << "      " << f.where << ": " << f.what << '\n';
      if (f.expected.empty()) {
        std::cout << "        " << f.got << '\n';
      } else {
        std::cout << "        expected: " << f.expected << "\n        got:      " << f.got << '\n';
      }
    }
  }
  if (opt.json) {
    std::cout << Json({{"cases", std::move(results)}, {"passed", passed}, {"failed", failed}})
              << '\n';
  } else {
    std::cout << Paint(std::to_string(passed) + " passed", passed ? "32" : "0", color) << ", "
              << Paint(std::to_string(failed) + " failed", failed ? "1;31" : "0", color) << '\n';
  }
  std::cout.flush();
  return failed ? 1 : 0;
}

}  // namespace

void AddTestCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<TestOptions>();
  CLI::App* cmd = app.add_subcommand(
      "test", "Run policy tests: *.test.yaml files of events and the answers they must get");
  cmd->add_option("paths", opt->paths,
                  "Test files, or directories searched for *.test.yaml (default: .)");
  cmd->add_option("--run", opt->run, "Only the cases whose \"FILE: NAME\" matches this RE2 regex");
  cmd->add_flag("--json", opt->json, "One JSON object with every case's result");
  cmd->callback([opt, exit_code] { *exit_code = RunTests(*opt); });
}

}  // namespace reins
