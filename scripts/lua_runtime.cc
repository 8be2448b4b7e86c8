#include "scripts/lua_runtime.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "scripts/lua_values.h"

namespace reins::lua {

namespace {

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Everything runs in protected mode; reaching the panic handler is a bug.
int Panic(lua_State* L) {
  const char* msg = lua_tostring(L, -1);
  fprintf(stderr, "reins: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
  std::abort();
}

void FormatMiB(char* buf, size_t n, size_t bytes) {
  if (bytes % (size_t{1} << 20) == 0) {
    snprintf(buf, n, "%zu MiB", bytes >> 20);
  } else {
    snprintf(buf, n, "%zu bytes", bytes);
  }
}

// Writes the stop message into buf (no allocation: called where a Lua error
// is about to be raised).
void FormatStop(const Runtime* rt, char* buf, size_t n) {
  char size[48];
  switch (rt->stop()) {
    case Stop::kBudget:
      snprintf(buf, n, "instruction budget of %lld exceeded",
               static_cast<long long>(rt->limits().instructions));
      return;
    case Stop::kMemory:
      FormatMiB(size, sizeof size, rt->limits().memory);
      snprintf(buf, n, "memory limit of %s exceeded", size);
      return;
    case Stop::kTime:
      snprintf(buf, n, "time limit of %lld ms exceeded",
               static_cast<long long>(rt->limits().time_ms));
      return;
    case Stop::kNone:
      break;
  }
  snprintf(buf, n, "stopped");
}

}  // namespace

void DestroyRegexCache(Runtime::RegexCache* cache);  // lua_api.cc

Runtime::Runtime(const Limits& limits) : limits_(limits) {}

Runtime::~Runtime() {
  if (L_) lua_close(L_);
  DestroyRegexCache(regexes);
}

Result<std::unique_ptr<Runtime>> Runtime::Create(const Limits& limits) {
  std::unique_ptr<Runtime> rt(new Runtime(limits));
  lua_State* L = lua_newstate(&Runtime::Alloc, rt.get());
  if (!L) return Status::Internal("cannot create a Lua state (memory limit too small)");
  rt->L_ = L;
  *static_cast<Runtime**>(lua_getextraspace(L)) = rt.get();
  lua_atpanic(L, Panic);
  Status st = rt->Run(OpenSandbox, nullptr, 0);
  if (!st.ok()) return st.WithPrefix("setting up the Lua sandbox");
  return rt;
}

void* Runtime::Alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* rt = static_cast<Runtime*>(ud);
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    rt->mem_used_ -= old;
    return nullptr;
  }
  if (nsize <= old) {
    // Lua assumes shrinking never fails; keep the old block if realloc does.
    void* p = realloc(ptr, nsize);
    rt->mem_used_ -= old - nsize;
    return p ? p : ptr;
  }
  size_t grow = nsize - old;
  // Lua reacts to NULL with an emergency collection and one retry, then a
  // memory error; Run and the sandbox's pcall turn that into a sticky stop.
  if (rt->mem_used_ + grow > rt->limits_.memory) return nullptr;
  void* p = realloc(ptr, nsize);
  if (!p) return nullptr;
  rt->mem_used_ += grow;
  rt->allocated_ += static_cast<int64_t>(grow);
  // Allocation is work too (string.rep, concatenation): once it uses up the
  // budget, stop at the next instruction rather than the next hook.
  if (rt->running_ && rt->stop_ == Stop::kNone && rt->Exhausted()) rt->SetStop(Stop::kBudget);
  return p;
}

void Runtime::Hook(lua_State* L, lua_Debug*) {
  Runtime* rt = GetRuntime(L);
  if (rt->stop_ == Stop::kNone) {
    rt->instructions_ += rt->hook_step_;
    if (rt->Exhausted()) {
      rt->SetStop(Stop::kBudget);
    } else if (rt->DeadlinePassed()) {
      rt->SetStop(Stop::kTime);
    }
  }
  if (rt->stop_ != Stop::kNone) RaiseStop(L);
  int64_t left = rt->limits_.instructions - rt->Used();
  if (left < rt->hook_step_) {
    rt->hook_step_ = static_cast<int>(std::max<int64_t>(1, left));
    lua_sethook(L, &Runtime::Hook, LUA_MASKCOUNT, rt->hook_step_);
  }
}

// The clock is read only once a run does real work (a hook, a large
// charge), so short evaluations never pay for it; the time before the first
// reading (under kHookStep instructions) is not counted.
bool Runtime::DeadlinePassed() {
  if (limits_.time_ms <= 0) return false;
  int64_t now = MonotonicNs();
  if (deadline_ns_ == 0) deadline_ns_ = now + limits_.time_ms * 1000000;
  return now > deadline_ns_;
}

void Runtime::SetStop(Stop s) {
  stop_ = s;
  hook_step_ = 1;
  if (L_) lua_sethook(L_, &Runtime::Hook, LUA_MASKCOUNT, 1);
}

bool Runtime::TakeInput(size_t bytes) {
  input_used_ += bytes;
  return input_used_ <= limits_.input_bytes;
}

std::string Runtime::StopMessage() const {
  char buf[128];
  FormatStop(this, buf, sizeof buf);
  return buf;
}

void Runtime::SetError(std::string_view message) {
  size_t n = std::min(message.size(), sizeof error - 1);
  memcpy(error, message.data(), n);
  error[n] = '\0';
}

Json* Runtime::Keep(Json value) {
  kept_.push_back(std::move(value));
  return &kept_.back();
}

Status Runtime::Run(lua_CFunction fn, void* arg, int nresults) {
  instructions_ = 0;
  work_ = 0;
  allocated_at_start_ = allocated_;
  input_used_ = 0;
  stop_ = Stop::kNone;
  hook_step_ =
      static_cast<int>(std::min<int64_t>(kHookStep, std::max<int64_t>(1, limits_.instructions)));
  deadline_ns_ = 0;
  running_ = true;
  lua_sethook(L_, &Runtime::Hook, LUA_MASKCOUNT, hook_step_);
  lua_pushcfunction(L_, fn);
  lua_pushlightuserdata(L_, arg);
  int status = lua_pcall(L_, 1, nresults, 0);
  lua_sethook(L_, nullptr, 0, 0);
  running_ = false;
  if (status == LUA_ERRMEM && stop_ == Stop::kNone) stop_ = Stop::kMemory;
  if (status == LUA_OK && stop_ == Stop::kNone) return Status::OK();
  // A stop wins over whatever the script made of it.
  std::string message;
  if (stop_ != Stop::kNone) {
    message = StopMessage();
  } else if (lua_type(L_, -1) == LUA_TSTRING) {
    size_t len = 0;
    const char* s = lua_tolstring(L_, -1, &len);
    message = SanitizeUtf8(std::string_view(s, std::min<size_t>(len, 2000)));
  } else {
    message = std::string("error object is a ") + luaL_typename(L_, -1) + " value";
  }
  lua_settop(L_, 0);
  return Status::Internal(std::move(message));
}

void Runtime::BeginEvaluation(const Event* event, const SessionView* view) {
  event_ = event;
  view_ = view;
}

void Runtime::EndEvaluation() {
  event_ = nullptr;
  view_ = nullptr;
  ++generation_;
  kept_.clear();
  scratch_json = nullptr;
  if (scratch.capacity() > (size_t{1} << 20)) std::string().swap(scratch);
  scratch.clear();
}

void Charge(lua_State* L, int64_t units) {
  Runtime* rt = GetRuntime(L);
  rt->ChargeUnits(units);
  if (!rt->running()) return;
  if (rt->stop() == Stop::kNone) {
    if (rt->Exhausted()) {
      rt->SetStop(Stop::kBudget);
    } else if (units >= kHookStep && rt->DeadlinePassed()) {
      rt->SetStop(Stop::kTime);
    }
  }
  if (rt->stop() != Stop::kNone) RaiseStop(L);
}

void ChargeInput(lua_State* L, size_t bytes) {
  Runtime* rt = GetRuntime(L);
  if (rt->TakeInput(bytes)) return;
  char size[48];
  FormatMiB(size, sizeof size, rt->limits().input_bytes);
  luaL_error(L, "input limit of %s exceeded (strings read from the event, state and log queries)",
             size);
}

void RaiseStop(lua_State* L) {
  char buf[128];
  FormatStop(GetRuntime(L), buf, sizeof buf);
  lua_pushstring(L, buf);
  lua_error(L);
  std::abort();  // lua_error does not return
}

}  // namespace reins::lua
