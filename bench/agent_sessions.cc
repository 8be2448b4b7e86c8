#include "bench/agent_sessions.h"

#include <cstdio>
#include <cstdlib>

namespace reins::bench {

namespace {

const char* const kModels[] = {"claude-sonnet-4-5", "claude-sonnet-4-5", "claude-sonnet-4-5",
                               "claude-opus-4-5"};
const char* const kRequests[] = {
    "Fix the failing test in tests/test_parser.py",
    "Add pagination to the /v1/orders endpoint and update the OpenAPI spec",
    "Why does the nightly build time out on the integration stage?",
    "Refactor the session cache to use an LRU with a byte budget"};
const char* const kTests[] = {"tests/test_parser.py", "tests/test_orders.py",
                              "tests/test_cache.py"};
const char* const kCommands[] = {"git status",        "git diff --stat", "ls -la src",
                                 "grep -rn TODO src", "npm run lint",    "make -j2"};
const char* const kFiles[] = {"src/parser.py", "src/api/orders.py", "src/cache.py", "README.md",
                              "docs/design.md"};

template <typename T, size_t N>
const T& Pick(std::mt19937_64& rng, const T (&items)[N]) {
  return items[std::uniform_int_distribution<size_t>(0, N - 1)(rng)];
}

// About 1.3 KB of source code: what a Read or a page fetch returns.
const std::string& Body() {
  static const std::string body = [] {
    std::string s;
    for (int i = 0; i < 40; ++i) s += "def step_" + std::to_string(i) + "(x):  return x + 1\n";
    return s;
  }();
  return body;
}

}  // namespace

Agent Agents::Start(std::string id, bool ends) {
  Agent a;
  a.id = std::move(id);
  a.user = "user" + std::to_string(Uniform(1, 40));
  a.model = Pick(rng_, kModels);
  a.turns = ends ? Uniform(2, 6) : -1;
  a.ts = kAgentsStartTs + Uniform(0, 3600) * int64_t{1000000};
  return a;
}

Event Agents::Next(Agent& a) {
  a.ts += Uniform(200, 20000) * int64_t{1000};
  Json j = {{"session", a.id}};
  switch (a.plan.front()) {
    case Agent::kStart:
      j.update(Json::parse(R"({"type": "session_start", "agent": "coder", "cwd": "/work/app",
                                 "harness": "claude-code", "source": "startup"})"));
      j.update({{"user", a.user}, {"model", a.model}});
      break;
    case Agent::kRequest:
      a.request = Pick(rng_, kRequests);
      j.update({{"type", "request"}, {"text", a.request}, {"model", a.model}});
      break;
    case Agent::kLlmRequest:
      a.messages += 2;
      j.update(Json::parse(R"({"type": "llm_request", "tools_count": 17,
            "system": "You are Claude Code, Anthropic's official CLI for Claude."})"));
      j.update({{"model", a.model}, {"text", a.request}, {"messages_count", a.messages}});
      break;
    case Agent::kLlmResponse:
      j.update({{"type", "llm_response"}, {"model", a.reply_model}, {"text", "Let me look."}});
      j["usage"] = {{"input_tokens", Uniform(50, 3000)}, {"output_tokens", Uniform(80, 900)}};
      j["usage"].update({{"cache_read_input_tokens", 12000 + 1500 * a.messages},
                         {"cache_creation_input_tokens", Uniform(0, 2500)}});
      break;
    case Agent::kCall:
      ToolCall(a);
      [[fallthrough]];
    case Agent::kResult:
      j.update(a.plan.front() == Agent::kCall ? a.call : a.result);
      break;
    case Agent::kReply:
      j.update({{"type", "response"}, {"text", "Done: the parser handles empty input now."}});
      break;
    case Agent::kEnd:
      j.update({{"type", "session_end"}, {"reason", "exit"}});
      break;
  }
  auto e = Event::FromJson(std::move(j));
  if (!e.ok()) {
    fprintf(stderr, "agent_sessions: a bad event: %s\n", e.status().ToString().c_str());
    std::abort();
  }
  e->set_ts(a.ts);
  return std::move(e).value();
}

bool Agents::Answered(Agent& a, const Decision& d) {
  Agent::Step done = a.plan.front();
  a.plan.pop_front();
  if (done == Agent::kLlmRequest) {  // a reroute is what answers
    bool reroute = d.verdict == Verdict::kModify && d.patch.contains("model");
    a.reply_model = reroute ? d.patch["model"].get<std::string>() : a.model;
  }
  if (d.verdict == Verdict::kDeny && (done == Agent::kCall || done == Agent::kLlmRequest)) {
    // It does not happen: no tool result, or no model answer and no more turn.
    Agent::Step resume = done == Agent::kCall ? Agent::kLlmRequest : Agent::kReply;
    while (a.plan.front() != resume) a.plan.pop_front();
  }
  if (!a.plan.empty() || done == Agent::kEnd) return !a.plan.empty();
  if (a.turns-- == 0) {
    a.plan = {Agent::kEnd};
    return true;
  }
  a.plan = {Agent::kRequest, Agent::kLlmRequest, Agent::kLlmResponse};
  for (int calls = Uniform(0, 5); calls > 0; --calls) {
    a.plan.insert(a.plan.end(),
                  {Agent::kCall, Agent::kResult, Agent::kLlmRequest, Agent::kLlmResponse});
  }
  a.plan.push_back(Agent::kReply);
  return true;
}

// A tool call like Claude Code's and the result it will have. Tests fail
// now and then; one Read in a hundred returns a confidential file.
void Agents::ToolCall(Agent& a) {
  std::string id = "toolu_" + std::to_string(++a.calls), tool, output = Body();
  Json input;
  bool fails = false;
  int r = Uniform(1, 100);
  if (r <= 40) {
    bool test = Chance(0.45);
    tool = "Bash";
    input["command"] =
        test ? std::string("pytest -q ") + Pick(rng_, kTests) : Pick(rng_, kCommands);
    fails = Chance(test ? 0.3 : 0.05);
    output = fails ? "F..\nFAILED tests/test_parser.py::test_empty - AssertionError\n1 failed"
                   : "........................ 24 passed in 0.41s";
  } else if (r <= 70) {
    tool = "Read";
    input["file_path"] = Pick(rng_, kFiles);
    if (Chance(0.01)) output = "# CONFIDENTIAL: internal only\n" + output;
  } else if (r <= 85) {
    tool = "Edit";
    input = {{"file_path", Pick(rng_, kFiles)}, {"old_string", "x + 1"}, {"new_string", "x + 2"}};
    output = "The file has been updated.";
  } else if (r <= 95) {
    tool = "Grep";
    input = {{"pattern", "def step_"}, {"path", "src"}};
  } else {
    tool = "WebFetch";
    input = {{"url", "https://docs.python.org/3/library/re.html"}, {"prompt", "Named groups?"}};
  }
  a.call = {{"type", "tool_call"}, {"tool", tool}, {"call_id", id}, {"input", input}};
  a.result = {{"type", "tool_result"}, {"tool", tool}, {"call_id", id}};
  a.result.update({{"output", output}, {"is_error", fails}});
}

}  // namespace reins::bench
