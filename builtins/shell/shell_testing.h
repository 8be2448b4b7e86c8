// Test helpers for the shell analyzer: a compact, readable rendering of a
// SimpleCommand so that expected results fit on one line.
#pragma once

#include <string>
#include <vector>

#include "builtins/shell/shell.h"

namespace reins::shell::testing {

// One argv word: quoted with '...' when it is empty or has a space, control
// characters shown as \n and \t, and a dynamic word prefixed with '%'.
inline std::string RenderWord(const std::string& word, bool dynamic) {
  std::string s;
  for (char c : word) {
    if (c == '\n') {
      s += "\\n";
    } else if (c == '\t') {
      s += "\\t";
    } else {
      s += c;
    }
  }
  if (s.empty() || s.find(' ') != std::string::npos) s = "'" + s + "'";
  return dynamic ? "%" + s : s;
}

// "ARGV... [@DEPTH(SOURCE)] [w=WRAPPERS] [a=ASSIGNMENTS] [>WRITTEN]... [<READ]... [!unresolved]"
inline std::string Render(const SimpleCommand& c) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < c.argv.size(); ++i) {
    parts.push_back(RenderWord(c.argv[i], i < c.dynamic.size() && c.dynamic[i]));
  }
  if (c.depth != 0 || !c.source.empty()) {
    parts.push_back("@" + std::to_string(c.depth) + "(" + c.source + ")");
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
  };
  if (!c.wrappers.empty()) parts.push_back("w=" + list(c.wrappers));
  if (!c.assignments.empty()) parts.push_back("a=" + list(c.assignments));
  for (const std::string& p : c.written_paths) parts.push_back(">" + p);
  for (const std::string& p : c.read_paths) parts.push_back("<" + p);
  if (!c.resolved) parts.push_back("!unresolved");
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : " ") + p;
  return s;
}

inline std::vector<std::string> RenderAll(const Analysis& a) {
  std::vector<std::string> out;
  for (const SimpleCommand& c : a.commands) out.push_back(Render(c));
  return out;
}

}  // namespace reins::shell::testing
