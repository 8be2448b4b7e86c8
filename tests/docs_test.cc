// Every runnable example in README.md and docs/*.md runs here.
//
// Conventions in the Markdown:
//   <!-- file: NAME -->      on the line before a fenced block writes the block
//                            to NAME in the document's scratch directory
//   ```console               blocks hold "$ command" lines, each followed by the
//                            output it must print (stdout and stderr, trailing
//                            spaces ignored; a line "..." matches any lines)
// Commands run with /bin/sh in the scratch directory, where `examples` links
// to the repository's examples and `reins` is the binary under test.
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "builtins/builtins.h"
#include "engine/testing.h"
#include "tests/support/process.h"

using namespace reins::testing;
namespace fs = std::filesystem;

namespace {

struct Command {
  std::string text;
  std::vector<std::string> expected;
  int line = 0;
};

std::string RStrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  return s;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(RStrip(line));
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

// Lines match with "..." standing for any run of lines.
bool Matches(const std::vector<std::string>& want, size_t wi, const std::vector<std::string>& got,
             size_t gi) {
  if (wi == want.size()) return gi == got.size();
  if (want[wi] == "...") {
    for (size_t k = gi; k <= got.size(); ++k) {
      if (Matches(want, wi + 1, got, k)) return true;
    }
    return false;
  }
  return gi < got.size() && want[wi] == got[gi] && Matches(want, wi + 1, got, gi + 1);
}

struct Doc {
  std::vector<std::pair<std::string, std::string>> files;  // in order of appearance
  std::vector<std::pair<size_t, Command>> commands;        // index into files written so far
};

Doc Parse(const std::string& text) {
  Doc doc;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string pending_file;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.rfind("<!-- file: ", 0) == 0) {
      pending_file = l.substr(11, l.find(" -->") - 11);
      continue;
    }
    if (l.rfind("```", 0) != 0) {
      if (!RStrip(l).empty()) pending_file.clear();
      continue;
    }
    std::string lang = RStrip(l.substr(3));
    std::string body;
    size_t start = i + 1;
    for (++i; i < lines.size() && lines[i].rfind("```", 0) != 0; ++i) body += lines[i] + "\n";
    if (!pending_file.empty()) {
      doc.files.emplace_back(pending_file, body);
      pending_file.clear();
    } else if (lang == "console") {
      std::vector<std::string> block = SplitLines(body);
      for (size_t k = 0; k < block.size(); ++k) {
        if (block[k].rfind("$ ", 0) == 0) {
          Command c;
          c.line = static_cast<int>(start + k + 1);
          c.text = block[k].substr(2);
          while (!c.text.empty() && c.text.back() == '\\' && k + 1 < block.size()) {
            c.text += "\n" + block[++k];
          }
          doc.commands.emplace_back(doc.files.size(), c);
        } else if (!doc.commands.empty()) {
          doc.commands.back().second.expected.push_back(block[k]);
        }
      }
    }
  }
  return doc;
}

}  // namespace

TEST_CASE("documentation examples run and print what the docs say", "[docs]") {
  std::vector<std::string> docs = {SourceDir() + "/README.md"};
  for (const auto& e : fs::directory_iterator(SourceDir() + "/docs")) {
    if (e.path().extension() == ".md") docs.push_back(e.path().string());
  }
  std::sort(docs.begin() + 1, docs.end());
  std::string bin_dir = fs::path(ReinsBin()).parent_path().string();
  int commands = 0;
  for (const std::string& path : docs) {
    Doc doc = Parse(ReadFile(path));
    TempDir scratch;
    fs::create_directory_symlink(SourceDir() + "/examples", scratch.File("examples"));
    size_t written = 0;
    for (const auto& [files_before, cmd] : doc.commands) {
      for (; written < files_before; ++written) {
        WriteFile(scratch.File(doc.files[written].first), doc.files[written].second);
      }
      INFO(path << ":" << cmd.line << ": $ " << cmd.text);
      ProcessResult r = Shell("(" + cmd.text + ") 2>&1", scratch.path(),
                              {{"PATH", bin_dir + ":" + std::getenv("PATH")}, {"NO_COLOR", "1"}});
      std::vector<std::string> got = SplitLines(r.out);
      std::string got_text;
      for (const std::string& g : got) got_text += g + "\n";
      INFO("printed:\n" << got_text);
      CHECK(Matches(cmd.expected, 0, got, 0));
      ++commands;
    }
  }
  CHECK(commands > 0);
}

TEST_CASE("docs/policies.md documents every builtin and each of its parameters", "[docs]") {
  reins::PolicyRegistry registry;
  REQUIRE(reins::RegisterBuiltins(&registry).ok());
  std::string doc = ReadFile(SourceDir() + "/docs/policies.md");
  for (const reins::PolicyType* t : registry.List()) {
    INFO("policy " << t->name);
    size_t section = doc.find("\n## " + t->name + "\n");
    REQUIRE(section != std::string::npos);
    size_t end = doc.find("\n## ", section + 1);
    std::string body = doc.substr(section, end - section);
    for (const reins::ParamSpec& p : t->params) {
      INFO("parameter " << p.name);
      CHECK(body.find("| `" + p.name + "` | " + std::string(reins::ParamTypeName(p.type)) + " |") !=
            std::string::npos);
    }
  }
}
