// Every runnable example in README.md and docs/*.md runs here.
//
// Conventions in the Markdown:
//   <!-- file: NAME -->      on the line before a fenced block writes the block
//                            to NAME in the document's scratch directory
//   ```console               blocks hold "$ command" lines, each followed by the
//                            output it must print (stdout and stderr, trailing
//                            spaces ignored; a line "..." matches any lines).
//                            A command ending with a backslash or an open
//                            quote goes on over the next lines.
//   $ export NAME=VALUE      sets NAME for the document's later commands (as a
//                            shell would); what it prints on stderr is its output
//   <!-- serve: FILE -->     before a console block starts `reins serve --config
//                            FILE --listen 127.0.0.1:0 --token-dir tokens` in the
//                            background (output in serve.log), waits until
//                            /healthz answers and sets REINS_SERVER to its URL
//                            for the later commands. The server gets SIGTERM at
//                            the end of the document (or at the next marker)
//                            and must exit with status 0.
// Commands run with /bin/sh in the scratch directory, where `examples` links
// to the repository's examples and `reins` is the binary under test.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

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
  std::string serve;  // a server configuration to start before this command
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

// Whether a command goes on to the next line, as in sh: it ends with a
// backslash or leaves a quote open.
bool Continues(const std::string& text) {
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
    } else if (c == '\\') {
      if (i + 1 == text.size()) return true;
      ++i;
    } else if (quote == '"') {
      if (c == '"') quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    }
  }
  return quote != 0;
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
  std::string pending_file, pending_serve;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.rfind("<!-- file: ", 0) == 0) {
      pending_file = l.substr(11, l.find(" -->") - 11);
      continue;
    }
    if (l.rfind("<!-- serve: ", 0) == 0) {
      pending_serve = l.substr(12, l.find(" -->") - 12);
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
          c.serve = std::move(pending_serve);
          pending_serve.clear();
          while (Continues(c.text) && k + 1 < block.size()) {
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

// `reins serve` running in the background for a document's examples.
class BackgroundServer {
 public:
  // Starts the server on `config` in `dir` and waits (up to 10 s) until it
  // prints its URL and /healthz answers. Returns "" or what went wrong.
  std::string Start(const std::string& dir, const std::string& config,
                    const std::map<std::string, std::string>& env) {
    log_ = dir + "/serve.log";
    process_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{ReinsBin(), "serve", "--config", config, "--listen", "127.0.0.1:0",
                                 "--token-dir", dir + "/tokens"},
        log_, dir, env);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    static const std::regex kUrl(R"(\n  API +(http://[0-9.]+:[0-9]+)\n)");
    while (url_.empty()) {
      std::smatch m;
      std::string log = process_->Output();
      if (std::regex_search(log, m, kUrl)) {
        url_ = m[1];
        break;
      }
      if (auto status = process_->WaitFor(std::chrono::milliseconds(0))) {
        return "reins serve exited (status " + std::to_string(*status) +
               ") before printing its URL; serve.log:\n" + log;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return "reins serve printed no URL within 10 s; serve.log:\n" + log;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    while (Run({"curl", "-sf", "--max-time", "1", url_ + "/healthz"}).exit_code != 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        return "GET " + url_ + "/healthz did not answer within 10 s; serve.log:\n" + log();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }

  // SIGTERM, then waits up to 15 s (SIGKILL after). Returns the exit status
  // (128 + signal when killed), or -1 when it was not running.
  int Stop() {
    if (!process_) return -1;
    process_->Signal(SIGTERM);
    auto status = process_->WaitFor(std::chrono::seconds(15));
    int code = status ? *status : 128 + SIGKILL;
    process_.reset();  // kills it if it still runs
    return code;
  }

  const std::string& url() const { return url_; }
  std::string log() const { return log_.empty() ? "" : ReadFile(log_); }

 private:
  std::unique_ptr<BackgroundProcess> process_;
  std::string url_, log_;
};

// The last `n` lines of `text`.
std::string Tail(const std::string& text, size_t n) {
  std::vector<std::string> lines = SplitLines(text);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
  }
  return out;
}

// "export NAME=VALUE": NAME and VALUE, else nullopt.
std::optional<std::pair<std::string, std::string>> Export(const std::string& command) {
  static const std::regex kExport(R"(export ([A-Za-z_][A-Za-z0-9_]*)=(.*))");
  std::smatch m;
  if (!std::regex_match(command, m, kExport)) return std::nullopt;
  return std::pair{m[1].str(), m[2].str()};
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
    std::map<std::string, std::string> env = {{"PATH", bin_dir + ":" + std::getenv("PATH")},
                                              {"NO_COLOR", "1"}};
    std::optional<BackgroundServer> server;  // stopped before the scratch dir goes
    auto stop_server = [&] {
      if (!server) return;
      int status = server->Stop();
      INFO(path << ": reins serve log:\n" << server->log());
      CHECK(status == 0);
      server.reset();
    };
    size_t written = 0;
    for (const auto& [files_before, cmd] : doc.commands) {
      for (; written < files_before; ++written) {
        WriteFile(scratch.File(doc.files[written].first), doc.files[written].second);
      }
      INFO(path << ":" << cmd.line << ": $ " << cmd.text);
      if (!cmd.serve.empty()) {
        stop_server();
        server.emplace();
        std::string error = server->Start(scratch.path(), cmd.serve, env);
        if (!error.empty()) {
          FAIL_CHECK("<!-- serve: " << cmd.serve << " -->: " << error);
          server.reset();
          break;
        }
        env["REINS_SERVER"] = server->url();
      }
      INFO((server ? "reins serve log (the end):\n" + Tail(server->log(), 12) : std::string()));
      if (auto var = Export(cmd.text)) {
        ProcessResult r =
            Shell(var->first + "=" + var->second + " && printf '%s' \"$" + var->first + "\"",
                  scratch.path(), env);
        INFO("printed on stderr:\n" << r.err);
        CHECK(r.exit_code == 0);
        CHECK(Matches(cmd.expected, 0, SplitLines(r.err), 0));
        env[var->first] = r.out;
        ++commands;
        continue;
      }
      ProcessResult r = Shell("(" + cmd.text + "\n) 2>&1", scratch.path(), env);
      std::vector<std::string> got = SplitLines(r.out);
      std::string got_text;
      for (const std::string& g : got) got_text += g + "\n";
      INFO("printed:\n" << got_text);
      CHECK(Matches(cmd.expected, 0, got, 0));
      ++commands;
    }
    stop_server();
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
