// The sandbox's pattern matcher against the standard library's: the same
// calls must give the same results and the same errors. Then what the
// standard library cannot do: stop a pattern that backtracks forever.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "scripts/lua_runtime.h"

using namespace reins;
using namespace reins::lua;

namespace {

// Serializes every value a chunk returns, so results compare as strings.
const char* kPrelude = R"(
local function S(...)
  local t = table.pack(...)
  local out = {}
  for i = 1, t.n do
    local v = t[i]
    out[#out + 1] = type(v) == "string" and string.format("%q", v) or tostring(v)
  end
  return table.concat(out, ",")
end
local function all(iter)
  local out = {}
  for a, b in iter do out[#out + 1] = S(a, b) end
  return table.concat(out, ";")
end
)";

std::string Result(lua_State* L, int status) {
  if (status != LUA_OK) return std::string("error: ") + lua_tostring(L, -1);
  return lua_tostring(L, -1) ? lua_tostring(L, -1) : "(nil)";
}

std::string RunStandard(const std::string& code) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  std::string chunk = std::string(kPrelude) + code;
  int status = luaL_loadbufferx(L, chunk.data(), chunk.size(), "=t", "t");
  if (status == LUA_OK) status = lua_pcall(L, 0, 1, 0);
  std::string out = Result(L, status);
  lua_close(L);
  return out;
}

int RunInSandbox(lua_State* L) {
  const std::string* chunk = static_cast<const std::string*>(lua_touserdata(L, 1));
  if (luaL_loadbufferx(L, chunk->data(), chunk->size(), "=t", "t") != LUA_OK) lua_error(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, kSlotGlobals);
  lua_setupvalue(L, -2, 1);
  lua_call(L, 0, 1);
  return 1;
}

std::string RunSandboxed(const std::string& code, int64_t instructions = 1'000'000) {
  Limits limits;
  limits.instructions = instructions;
  auto rt = Runtime::Create(limits);
  REQUIRE(rt.ok());
  std::string chunk = std::string(kPrelude) + code;
  Status st = (*rt)->Run(RunInSandbox, &chunk, 1);
  if (!st.ok()) return "error: " + st.message();
  return Result((*rt)->L(), LUA_OK);
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

TEST_CASE("patterns match exactly like the standard library", "[lua][pattern]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello world", "o w"},
      {"hello", "l+"},
      {"hello", "^h"},
      {"hello", "^e"},
      {"hello", "o$"},
      {"hello$", "o%$"},
      {"a$b", "a$b"},
      {"hello", "x*"},
      {"hello", "(h)(e)"},
      {"hello", "()ll()"},
      {"  trim me  ", "^%s*(.-)%s*$"},
      {"key = value", "(%w+)%s*=%s*(%w+)"},
      {"THE (quick) fox", "%((%a+)%)"},
      {"f(a(b)c)d e(f)", "%b()"},
      {"THE (quick) fox", "%f[%a]%a+"},
      {"hello", "[aeiou]"},
      {"hello", "[^aeiou]+"},
      {"a]b", "[]]"},
      {"a]b", "[^]]+"},
      {"a-b", "[a-]+"},
      {"x^y", "[%^]"},
      {"x^y", "x^"},
      {"abcabc", "(abc)%1"},
      {"abab", "(a)(b)%1%2"},
      {"2024-01-15", "(%d+)-(%d+)-(%d+)"},
      {"a.b", "%."},
      {"a+b", "a+b"},
      {"", ""},
      {"abc", ""},
      {"abc", ".-"},
      {"abc", "a?b?c?d?"},
      {"aaa", "a-"},
      {"aaab", "a-b"},
      {"Hello World", "%u%l+"},
      {"x=1, y=22", "(%w)=(%d+)"},
      {"tab\there", "%c"},
      {"a1_b2", "[%w_]+"},
      {"0xFF", "0x(%x+)"},
      {"[[x]]", "%[%[(.-)%]%]"},
      {"one two  three", "%S+"},
      {"path/to/file.txt", "([^/]+)%.(%w+)$"},
      {"aXb", "%l%u%l"},
      {"email: a@b.co", "[%w.]+@[%w.]+"},
      {"THE END", "%f[%w]%w+%f[%W]"},
      {"abc", "((a)(b))"},
      {"abc", "(a(b(c)))"},
      {"aaa", "(a*(.)%w(%s*))"},
      {"hello world from lua", "(%w+) (%w+)"},
      {"x", "[a-z]"},
      {"-", "[%-]"},
      {"z", "[a-y]"},
      {"é", "."},
  };
  int compared = 0;
  for (const auto& [s, p] : cases) {
    std::string S = Quote(s), P = Quote(p);
    std::vector<std::string> calls = {
        "string.find(" + S + ", " + P + ")",
        "string.find(" + S + ", " + P + ", 2)",
        "string.find(" + S + ", " + P + ", -2)",
        "string.find(" + S + ", " + P + ", 100)",
        "string.find(" + S + ", " + P + ", 1, true)",
        "string.match(" + S + ", " + P + ")",
        "string.match(" + S + ", " + P + ", 3)",
        "all(string.gmatch(" + S + ", " + P + "))",
        "all(string.gmatch(" + S + ", " + P + ", 2))",
        "string.gsub(" + S + ", " + P + ", \"<%0>\")",
        "string.gsub(" + S + ", " + P + ", \"[%1]\")",
        "string.gsub(" + S + ", " + P + ", \"%%\", 1)",
        "string.gsub(" + S + ", " + P + ", {a = \"A\", hello = 1})",
        "string.gsub(" + S + ", " + P + ", function(x) return x == 'l' and 'L' or nil end)",
        "string.gsub(" + S + ", " + P + ", function(...) return select('#', ...) .. '' end, 2)",
    };
    for (const std::string& call : calls) {
      std::string code = "return S(" + call + ")";
      INFO(call);
      CHECK(RunSandboxed(code) == RunStandard(code));
      ++compared;
    }
  }
  CHECK(compared == static_cast<int>(cases.size()) * 15);
}

TEST_CASE("malformed patterns fail with the standard library's messages", "[lua][pattern]") {
  for (const char* code : {
           "return S(string.find('abc', '%'))",
           "return S(string.find('abc', '[a'))",
           "return S(string.find('abc', '[^'))",
           "return S(string.find('abc', '[%'))",
           "return S(string.find('abc', '(a'))",
           "return S(string.match('abc', 'a)'))",
           "return S(string.find('abc', '%b'))",
           "return S(string.find('abc', '%ba'))",
           "return S(string.find('abc', '%f'))",
           "return S(string.find('abc', '%fa'))",
           "return S(string.find('abc', '%1'))",
           "return S(string.find('abc', '(a)%2'))",
           "return S(string.find('abc', '(a%1)'))",
           "return S(string.match('abc', '()(' .. string.rep('()', 40) .. ')'))",
           "return S(string.gsub('abc', 'b', '%2'))",
           "return S(string.gsub('abc', 'b', '%z'))",
           "return S(string.gsub('abc', 'b', true))",
           "return S(string.gsub('abc', 'b', function() return {} end))",
           "return S(string.find(string.rep('a', 300), string.rep('(', 250)))",
           "return S(string.find(string.rep('a', 300), string.rep('a?', 250)))",
       }) {
    INFO(code);
    std::string got = RunSandboxed(code);
    CHECK(got.rfind("error: ", 0) == 0);
    CHECK(got == RunStandard(code));
  }
}

TEST_CASE("an exponential pattern ends with the budget error", "[lua][pattern][sandbox]") {
  // 2^40 backtracking steps in the standard library; the budget stops it.
  std::string code =
      "return S(string.find(string.rep('a', 40), string.rep('a?', 40) .. string.rep('a', 40)))";
  CHECK(RunSandboxed(code) == "error: instruction budget of 1000000 exceeded");
  // A quadratic find over a long subject, and gsub and gmatch the same way.
  CHECK(RunSandboxed("return S(string.find(string.rep('a', 100000), '.-b'))") ==
        "error: instruction budget of 1000000 exceeded");
  CHECK(RunSandboxed("return S(string.gsub(string.rep('a', 100000), '.-b', ''))") ==
        "error: instruction budget of 1000000 exceeded");
  CHECK(RunSandboxed("return all(string.gmatch(string.rep('a', 100000), '.-b'))") ==
        "error: instruction budget of 1000000 exceeded");
  // pcall cannot catch it.
  CHECK(RunSandboxed("local ok = pcall(string.find, string.rep('a', 40), string.rep('a?', 40) .. "
                     "string.rep('a', 40)) return S(ok)") ==
        "error: instruction budget of 1000000 exceeded");
  // Ordinary matching fits easily.
  CHECK(RunSandboxed("return S(string.find(string.rep('a', 100000) .. 'b', 'a+b'))") == "1,100001");
}
