// Runtime: one sandboxed lua_State and the accounting that bounds it.
//
// Internal to the scripts library. A Runtime owns a lua_State created with a
// counting allocator (the memory cap), a count hook (the instruction budget
// and a wall-clock watchdog), the sandboxed globals (lua_sandbox.cc) and,
// while an evaluation runs, pointers to its event and session view.
//
// Lua 5.4 from Debian is compiled as C: errors are longjmps. Every function
// Lua calls back into (lua_CFunctions, the allocator, the hook) is written
// in plain C style: no object with a destructor lives in a frame a Lua error
// can unwind through. C++ work that needs such objects happens in helpers
// that call no raising Lua API and catch their own exceptions, with results
// kept in the Runtime (not on the stack) until they are pushed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <lua.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "engine/canonical_json.h"
#include "engine/event.h"
#include "engine/session_view.h"
#include "engine/status.h"

namespace reins::lua {

// Integer registry keys where a runtime keeps its objects. Nothing in reins
// calls luaL_ref, so these cannot collide with references.
enum Slot : int {
  kSlotProxyMeta = 16,  // metatable of read-only JSON views (event, params, state)
  kSlotSessionMeta,     // metatable of `session`
  kSlotVerdictMeta,     // metatable of verdict tables (the chainable state updates)
  kSlotArrayMeta,       // marks a Lua table as a JSON array
  kSlotEnvMeta,         // metatable of each evaluation's fresh _ENV
  kSlotReadOnly,        // read-only proxy -> the table it stands for
  kSlotGlobals,         // the sandbox globals, before a script is loaded
  kSlotChunk,           // the script's main function; upvalue 1 is its _ENV
  kSlotEvaluate,        // the script's evaluate function
  kSlotParams,          // read-only view of the policy's parameters
  kSlotShell,           // reins.shell.parse, when the analyzer is linked
};

struct Limits {
  int64_t instructions = 1'000'000;  // per evaluation
  size_t memory = size_t{32} << 20;  // live bytes of the state
  int64_t time_ms = 1000;            // watchdog per evaluation (0: none)
  size_t input_bytes = size_t{8} << 20;
};

// Why a run was stopped from outside the script. Sticky for the rest of the
// run: the hook raises again at every instruction and the sandbox's pcall
// re-raises, so a script cannot catch it and carry on.
enum class Stop : uint8_t { kNone, kBudget, kMemory, kTime };

// Work that is not a VM instruction (pattern matching steps, elements moved
// by table functions, log queries) is charged in instruction units; so is
// allocation, one unit per kBytesPerUnit bytes.
inline constexpr int64_t kBytesPerUnit = 64;
inline constexpr int64_t kHookStep = 1000;
inline constexpr int kMaxDepth = 64;               // JSON nesting in either direction
inline constexpr lua_Integer kMaxResults = 10000;  // values one call may return

class Runtime {
 public:
  // A fresh state with the sandbox installed.
  static Result<std::unique_ptr<Runtime>> Create(const Limits& limits);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  lua_State* L() const { return L_; }
  const Limits& limits() const { return limits_; }

  // Runs fn in protected mode under the budget, with `arg` as its only
  // argument (a light userdata), leaving nresults on the stack when it
  // succeeds. Errors come back with the script's message
  // ("policy.lua:12: attempt to index a nil value") or the limit that
  // stopped it ("instruction budget of 1000000 exceeded").
  Status Run(lua_CFunction fn, void* arg, int nresults);

  // The evaluation in progress (both null outside one).
  void BeginEvaluation(const Event* event, const SessionView* view);
  void EndEvaluation();
  const Event* event() const { return event_; }
  const SessionView* view() const { return view_; }
  // Changes at the end of every evaluation; views of per-evaluation data
  // remember it and refuse to be read later. 0 marks data that lives as long
  // as the state (the parameters).
  uint64_t generation() const { return generation_; }

  // --- accounting (called from Lua callbacks; C style)
  void ChargeUnits(int64_t units) { work_ += units; }
  int64_t Used() const {
    return instructions_ + work_ + (allocated_ - allocated_at_start_) / kBytesPerUnit;
  }
  bool Exhausted() const { return Used() >= limits_.instructions; }
  bool DeadlinePassed();
  Stop stop() const { return stop_; }
  void SetStop(Stop s);  // also re-arms the hook to fire at every instruction
  bool running() const { return running_; }
  size_t memory_used() const { return mem_used_; }
  // Input allowance: false when `bytes` more would exceed it.
  bool TakeInput(size_t bytes);

  // The stop message for the current stop reason.
  std::string StopMessage() const;

  // Values that back views handed to Lua during one evaluation (log query
  // results, token counts); cleared by EndEvaluation.
  Json* Keep(Json value);
  // Scratch space for C++ results on their way into Lua (see the header
  // comment), and the last helper error.
  std::string scratch;
  Json scratch_json;
  char error[256] = {0};
  void SetError(std::string_view message);

  // Per-state cache of compiled RE2 patterns (lua_api.cc), made on first use.
  struct RegexCache;
  RegexCache* regexes = nullptr;

 private:
  explicit Runtime(const Limits& limits);
  static void* Alloc(void* ud, void* ptr, size_t osize, size_t nsize);
  static void Hook(lua_State* L, lua_Debug* ar);

  lua_State* L_ = nullptr;
  Limits limits_;
  // memory
  size_t mem_used_ = 0;
  int64_t allocated_ = 0;  // bytes ever allocated (growth only)
  int64_t allocated_at_start_ = 0;
  // budget
  bool running_ = false;
  int64_t instructions_ = 0;
  int64_t work_ = 0;
  int hook_step_ = kHookStep;
  int64_t deadline_ns_ = 0;  // 0: not read yet in this run
  Stop stop_ = Stop::kNone;
  // evaluation
  const Event* event_ = nullptr;
  const SessionView* view_ = nullptr;
  uint64_t generation_ = 1;
  size_t input_used_ = 0;
  std::deque<Json> kept_;
};

// The runtime of a state (kept in its extra space).
inline Runtime* GetRuntime(lua_State* L) { return *static_cast<Runtime**>(lua_getextraspace(L)); }

// Charges `units` of work; raises the budget error when it is used up.
void Charge(lua_State* L, int64_t units);
// Charges bytes of input handed to Lua; raises when the allowance is used up.
void ChargeInput(lua_State* L, size_t bytes);
// Raises the current stop error (never returns).
[[noreturn]] void RaiseStop(lua_State* L);
// Records a note for the running evaluation (SessionView::Log); a no-op
// outside one. Calls no Lua function.
void LogNote(Runtime* rt, const char* s, size_t n) noexcept;

// Installs the sandboxed globals (lua_sandbox.cc); protected-mode function.
int OpenSandbox(lua_State* L);
// Sets globals.reins, the API table (lua_api.cc).
void OpenReinsApi(lua_State* L, int globals);
// Creates the `session` metatable (lua_session.cc).
void OpenSession(lua_State* L);
// Pushes `session` for the running evaluation.
void PushSession(lua_State* L);

// A read-only table proxy over `real` (the table at index `real`): reads go
// through, writes, rawset and setmetatable fail, pairs iterates `real`.
void PushReadOnlyTable(lua_State* L, int real);
// True when the value at idx is a table rawset must not modify.
bool IsReadOnlyTable(lua_State* L, int idx);
// next() over a read-only proxy, in sorted key order (a lua_CFunction).
int ReadOnlyNext(lua_State* L);
// When the value at idx is a read-only proxy, pushes the table it stands
// for and returns true; otherwise pushes nothing. Raises no error.
bool PushProxiedTable(lua_State* L, int idx);
// After a script's main chunk ran with `module_env` (an index) as its
// globals: copies the sandbox globals and the script's own into one table,
// turns module_env into a read-only view of it (a script that kept a
// reference to its _ENV cannot use it as memory), and makes that table the
// __index of every evaluation's fresh _ENV (kSlotEnvMeta).
void FreezeGlobals(lua_State* L, int module_env);

}  // namespace reins::lua
