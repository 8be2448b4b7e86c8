// Lua patterns with a step budget.
//
// string.find, string.match, string.gmatch and string.gsub implement the
// pattern language of the Lua 5.4 manual (section 6.4.1): character
// classes, sets, the * + - ? repetitions, anchors, captures and position
// captures, back-references, %b and %f. The standard library's matcher runs
// inside one C call where the instruction count hook never fires, and a
// pattern such as string.rep("a?", 40) .. string.rep("a", 40) backtracks
// exponentially; this one charges every matching step to the evaluation's
// instruction budget, so such a pattern ends with the budget error instead
// of running forever. Error messages follow the standard library's.
#pragma once

#include "scripts/lua_runtime.h"

namespace reins::lua {

// Sets find, match, gmatch and gsub in the table at the top of the stack
// (lua_strlib.cc).
void OpenPatterns(lua_State* L);

namespace pattern {

constexpr int kMaxCaptures = 32;

// One match in progress: the subject, the pattern's end, the captures, and
// the steps not yet charged to the budget. Plain data (it lives in C frames
// a Lua error may unwind).
struct MatchState {
  const char* src_init;
  const char* src_end;
  const char* p_end;
  lua_State* L;
  int level;  // captures so far
  int depth;  // recursion left before "pattern too complex"
  int steps;
  struct {
    const char* init;
    ptrdiff_t len;  // or kCapUnfinished / kCapPosition
  } capture[kMaxCaptures];
};

void Prepare(MatchState* ms, lua_State* L, const char* s, size_t ls, const char* p, size_t lp);
void Reprepare(MatchState* ms);  // before each attempt at a new position
// Charges the steps not charged yet.
void Flush(MatchState* ms);
// The end of the match of pattern p at s, or nullptr.
const char* Match(MatchState* ms, const char* s, const char* p);
// Pushes capture i (the whole match [s, e) when there are none and i == 0).
void PushOneCapture(MatchState* ms, int i, const char* s, const char* e);
// Pushes every capture (or the whole match when there are none and s is set).
int PushCaptures(MatchState* ms, const char* s, const char* e);

}  // namespace pattern

}  // namespace reins::lua
