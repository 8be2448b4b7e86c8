#include "tests/e2e/harness_env.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "engine/log_store.h"
#include "engine/pricing.h"
#include "tests/support/process.h"

namespace reins::testing {

namespace fs = std::filesystem;

namespace {

// A stand-in for a program the agent should not really run here (npm would
// reach the registry, git push a remote): it records its command line. With
// `real` (git), only pushes are recorded and the rest goes to the real
// program: the harnesses run git themselves.
void WriteStandIn(const std::string& path, const std::string& log, const std::string& real) {
  std::string name = fs::path(path).filename().string();
  std::string record = "echo \"" + name + " $*\" >> '" + log + "'\n";
  std::string script = "#!/bin/sh\n";
  if (real.empty()) {
    script += record;
  } else {
    script +=
        "case \" $* \" in *\" push \"*) " + record + ";; *) exec '" + real + "' \"$@\" ;; esac\n";
  }
  WriteFile(path, script);
  chmod(path.c_str(), 0755);
}

std::unique_ptr<LogStore> OpenLog(const std::string& db) {
  auto store = OpenSqliteLogStore(db);
  INFO(store.status().message());
  REQUIRE(store.ok());
  return std::move(store).value();
}

}  // namespace

std::string HarnessCli(const std::string& name) {
  std::string path = SourceDir() + "/tests/e2e/node_modules/.bin/" + name;
  if (access(path.c_str(), X_OK) != 0) {
    FAIL("the " + name + " CLI is not installed at " + path +
         ": run `make deps` (it installs tests/e2e/package.json with npm)");
  }
  return path;
}

HarnessEnv::HarnessEnv(const std::string& policies,
                       const std::map<std::string, std::string>& files) {
  for (const char* d : {"home", "project", "bin", "reins"}) fs::create_directories(dir_.File(d));
  WriteStandIn(dir_.File("bin/npm"), dir_.File("ran.log"), "");
  std::string git = Shell("command -v git").out;
  WriteStandIn(dir_.File("bin/git"), dir_.File("ran.log"), git.substr(0, git.find('\n')));
  WriteFile(config(), "engine:\n  db: reins.db\npolicies:\n" + policies);
  for (const auto& [name, content] : files) WriteFile(dir_.File("reins/" + name), content);
}

std::map<std::string, std::string> HarnessEnv::Env(std::map<std::string, std::string> extra) const {
  const char* path = getenv("PATH");
  extra["HOME"] = home();
  extra["PATH"] = dir_.File("bin") + ":" + (path ? path : "/usr/bin:/bin");
  return extra;
}

std::vector<std::string> HarnessEnv::Ran() const {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(dir_.File("ran.log")));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<Json> HarnessEnv::Events(const std::string& session) const {
  std::vector<Json> events;
  auto store = OpenLog(db());
  REQUIRE(store
              ->Scan(session, 0, 0,
                     [&](const Record& r) {
                       if (r.kind != RecordKind::kEvent) return true;
                       Json e = r.body;
                       e["seq"] = r.seq;
                       events.push_back(std::move(e));
                       return true;
                     })
              .ok());
  return events;
}

std::map<int64_t, Json> HarnessEnv::Decisions(const std::string& session) const {
  std::map<int64_t, Json> decisions;
  auto store = OpenLog(db());
  REQUIRE(store
              ->Scan(session, 0, 0,
                     [&](const Record& r) {
                       if (r.kind == RecordKind::kDecision) {
                         decisions[r.body.value("event_seq", int64_t{0})] = r.body;
                       }
                       return true;
                     })
              .ok());
  return decisions;
}

std::vector<std::string> HarnessEnv::Sessions() const {
  std::vector<std::string> ids;
  auto store = OpenLog(db());
  REQUIRE(store
              ->ListSessions({},
                             [&](const SessionSummary& s) {
                               ids.push_back(s.id);
                               return true;
                             })
              .ok());
  return ids;
}

bool HarnessEnv::ChainsVerify() const {
  auto store = OpenLog(db());
  for (const std::string& id : Sessions()) {
    auto report = store->Verify(id);
    if (!report.ok() || report->first_break) return false;
  }
  return true;
}

double PricedCost(const std::string& model, long input, long output, int responses) {
  TokenCounts tokens;
  tokens.input = input;
  tokens.output = output;
  auto cost = PriceTable::Builtin().Cost(model, tokens);
  INFO("model " << model);
  REQUIRE(cost.has_value());
  return *cost * responses;
}

}  // namespace reins::testing
