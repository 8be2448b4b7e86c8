// Synthetic coding-agent sessions for the engine benchmarks (engine_matrix):
// what a Claude Code session sends, from a seeded random generator, so every
// run replays the same sessions. A session is a session_start, turns of a
// request, model calls (llm_request, llm_response with usage), tool calls
// (Bash, Read, Edit, Grep, WebFetch) with their results and a response, then
// a session_end. The answers steer it: a denied call gets no result, a
// denied model call ends the turn, a rerouted model answers.
#pragma once

#include <deque>
#include <random>
#include <string>

#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/event.h"

namespace reins::bench {

// The first session starts within an hour after this time (2026-11-21T05:25Z).
inline constexpr TimeUs kAgentsStartTs = 1795250700000000;

// One agent session: the events it will send, changed by the answers.
struct Agent {
  enum Step { kStart, kRequest, kLlmRequest, kLlmResponse, kCall, kResult, kReply, kEnd };
  std::string id, user, model, reply_model, request;
  TimeUs ts = kAgentsStartTs;
  std::deque<Step> plan = {kStart};  // the rest of this turn
  int turns = 0;                     // turns left; negative: the session never ends
  int messages = 0;
  int64_t calls = 0;
  Json call, result;  // the last tool call and the result it will have
};

// Makes agents and their events. Not thread-safe: one per thread.
class Agents {
 public:
  explicit Agents(uint64_t seed) : rng_(seed) {}

  // A new session `id`; one that `ends` has 2 to 6 turns, the others never end.
  Agent Start(std::string id, bool ends);

  // The agent's next event, stamped a little after its previous one.
  Event Next(Agent& a);

  // Moves the agent on after the answer to its last event (an ask counts as
  // approved: the caller has sent the approval). False when it has ended.
  bool Answered(Agent& a, const Decision& d);

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  void ToolCall(Agent& a);

  std::mt19937_64 rng_;
};

}  // namespace reins::bench
