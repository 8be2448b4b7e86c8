// The world a real harness CLI runs in for an end-to-end test: a home of its
// own, a project directory, stand-in `npm` and `git` programs, a reins
// configuration, and the reins log to read afterwards.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/canonical_json.h"
#include "engine/testing.h"

namespace reins::testing {

// The CLI installed by `make deps` under tests/e2e/node_modules/.bin. When it
// is missing the test fails with a message saying so (never a silent skip).
std::string HarnessCli(const std::string& name);

class HarnessEnv {
 public:
  // `policies` is the body of the reins server file's `policies:` section.
  // Files in `files` (name -> content) are written beside the server file.
  explicit HarnessEnv(const std::string& policies,
                      const std::map<std::string, std::string>& files = {});

  std::string home() const { return dir_.File("home"); }
  std::string project() const { return dir_.File("project"); }
  std::string config() const { return dir_.File("reins/server.yaml"); }
  std::string db() const { return dir_.File("reins/reins.db"); }
  std::string File(const std::string& name) const { return dir_.File(name); }

  // Environment for the CLI: HOME, and PATH with the stand-ins first.
  std::map<std::string, std::string> Env(std::map<std::string, std::string> extra = {}) const;

  // Every command line the stand-in `npm` and `git` ran, in order.
  std::vector<std::string> Ran() const;

  // The events of `session` in the reins log (record bodies with seq), and
  // the decisions, by the seq of the event they answer.
  std::vector<Json> Events(const std::string& session) const;
  std::map<int64_t, Json> Decisions(const std::string& session) const;
  // The ids of the sessions in the log, most recently started first.
  std::vector<std::string> Sessions() const;
  // True when every session's hash chain verifies.
  bool ChainsVerify() const;

 private:
  TempDir dir_;
};

// The cost of `responses` model responses of `input` and `output` tokens on
// `model`, from the price table compiled into reins.
double PricedCost(const std::string& model, long input, long output, int responses);

}  // namespace reins::testing
