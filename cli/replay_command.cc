// reins replay: recorded sessions (or an events file) against another policy
// set, and the verdicts that would change (docs/audit.md, "Replaying against
// new policies"; how the recording is followed is in cli/replay.h).
//
// Output: a table of changes (session, seq, type, event, old → new verdict,
// mark, both reasons), a table per policy (asks, denies, lifted, saved) and
// a summary line. With --json, one object per line: {"kind":"change",...}
// as each change is found, then {"kind":"policy",...} per policy and one
// {"kind":"summary",...}. A diff is not an error: exit 0; 2 for bad input
// (configuration, unknown session, a malformed events file), 1 for a
// failure reading or replaying.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/audit.h"
#include "cli/commands.h"
#include "cli/replay.h"
#include "cli/setup.h"
#include "cli/table.h"
#include "server/settings.h"

namespace reins {

namespace {

struct ReplayOptions {
  AuditSource source;
  std::string session_id, events, server, agent, session_file, since;
  bool all = false;
};

// The human table is printed in blocks of this many changes, so a replay
// that changes millions of verdicts never holds them all.
constexpr size_t kRowsPerBlock = 1000;

const char* kArrow = "\xe2\x86\x92";  // →

double Usd(double v) { return std::round(v * 1e6) / 1e6; }

std::string Dollars(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.2f", v);
  return buf;
}

nlohmann::ordered_json VerdictJson(const ReplayVerdict& v) {
  return {{"verdict", v.verdict}, {"reason", v.reason}, {"policies", v.policies}};
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

class Printer {
 public:
  Printer(bool json, bool color) : json_(json), color_(color) {}

  void Change(const ReplayChange& c) {
    if (json_) {
      nlohmann::ordered_json j;
      j["kind"] = "change";
      j["session"] = c.session;
      j["seq"] = c.seq;
      j["type"] = c.type;
      j["event"] = c.summary;
      j["old"] = c.old ? VerdictJson(*c.old) : nlohmann::ordered_json(nullptr);
      j["new"] = VerdictJson(c.now);
      j["mark"] = c.mark;
      if (!c.answered_as.empty()) j["answered_as"] = c.answered_as;
      std::cout << j.dump() << '\n';
      return;
    }
    std::string verdict = (c.old ? c.old->verdict + " " + kArrow + " " : "") + c.now.verdict;
    std::string mark = c.mark + (c.answered_as.empty() ? "" : " (" + c.answered_as + ")");
    auto reason = [](const std::string& r) { return r.empty() ? std::string("-") : r; };
    std::string color = VerdictColor(c.now.verdict);
    table_.AddRow({c.session, std::to_string(c.seq), c.type, c.summary, verdict, mark,
                   c.old ? reason(c.old->reason) : "-", reason(c.now.reason)},
                  {"", "", "", "", color, color, "", ""});
    if (++rows_ == kRowsPerBlock) Flush();
  }

  void Finish(const ReplayTotals& t, bool events_file) {
    if (json_) {
      for (const auto& [name, p] : t.policies) {
        nlohmann::ordered_json j = {{"kind", "policy"},   {"policy", name},
                                    {"asks", p.asks},     {"denies", p.denies},
                                    {"lifted", p.lifted}, {"saved_usd", Usd(p.saved_usd)}};
        std::cout << j.dump() << '\n';
      }
      nlohmann::ordered_json s = {{"kind", "summary"},
                                  {"sessions", t.sessions},
                                  {"events", t.events},
                                  {"changed", t.changed},
                                  {"approvals_replayed", t.approvals_replayed},
                                  {"approvals_unneeded", t.approvals_unneeded},
                                  {"asks_answered", t.asks_answered},
                                  {"not_replayed", t.not_replayed},
                                  {"saved_usd", Usd(t.saved_usd)}};
      std::cout << s.dump() << '\n';
      return;
    }
    Flush();
    if (!t.policies.empty()) {
      if (printed_) std::cout << '\n';
      Table policies({"policy", "asks", "denies", "lifted", "saved"});
      for (const auto& [name, p] : t.policies) {
        policies.AddRow({name, std::to_string(p.asks), std::to_string(p.denies),
                         std::to_string(p.lifted), Dollars(p.saved_usd)});
      }
      policies.Print(std::cout, color_, 60);
      printed_ = true;
    }
    if (printed_) std::cout << '\n';
    std::string line = "replayed " + Plural(t.sessions, "session", "sessions") + ", " +
                       Plural(t.events, "event", "events") + ": ";
    if (events_file) {
      line += Plural(t.changed, "event", "events") + " not allowed";
    } else {
      line += t.changed == 0 ? std::string("no verdict changes")
                             : Plural(t.changed, "verdict changes", "verdicts change");
    }
    line += "; approvals: " + std::to_string(t.approvals_replayed) + " replayed, " +
            std::to_string(t.approvals_unneeded) + " not needed";
    if (t.asks_answered > 0) {
      line += "; " + Plural(t.asks_answered, "new ask", "new asks") + " answered as recorded";
    }
    if (t.not_replayed > 0) line += "; " + std::to_string(t.not_replayed) + " not replayed";
    line += "; would have saved " + Dollars(t.saved_usd);
    std::cout << line << '\n';
  }

 private:
  void Flush() {
    if (rows_ == 0) return;
    if (printed_) std::cout << '\n';
    table_.Print(std::cout, color_, 100);
    table_ = NewTable();
    rows_ = 0;
    printed_ = true;
  }
  static Table NewTable() {
    return Table(
        {"session", "seq", "type", "event", "verdict", "mark", "old reason", "new reason"});
  }

  bool json_, color_;
  Table table_ = NewTable();
  size_t rows_ = 0;
  bool printed_ = false;
};

// The new layers: the server file, and the agent and session files when
// given. Prints every configuration error; nullopt when there was any.
std::optional<ReplayLayers> LoadReplayLayers(const ReplayOptions& opt) {
  ConfigLoader loader = DefaultConfigLoader();
  auto server = LoadServerFile(loader, opt.server);
  if (!server.ok()) {
    std::cerr << server.status().message() << '\n';
    return std::nullopt;
  }
  ReplayLayers layers;
  layers.server = *server;
  // Layers may use the server file's `scripts:` types, as a server's do.
  ConfigLoader layer_loader(layers.server->registry.get());
  std::vector<ConfigError> errors;
  if (!opt.agent.empty()) {
    auto a = layer_loader.LoadAgent(opt.agent, &errors);
    if (a.ok()) layers.agent = std::move(a->policies);
  }
  if (!opt.session_file.empty()) {
    auto s = layer_loader.LoadSession(opt.session_file, &errors);
    if (s.ok()) layers.session = std::move(s).value();
  }
  for (const ConfigError& e : errors) std::cerr << e.ToString() << '\n';
  if (!errors.empty()) return std::nullopt;
  auto set = PolicySet::Compose(layers.session ? &*layers.session : nullptr,
                                layers.agent ? &*layers.agent : nullptr, &layers.server->policies);
  if (!set.ok()) {
    std::cerr << set.status().message() << '\n';
    return std::nullopt;
  }
  return layers;
}

int ReplayEventsFile(const ReplayOptions& opt, const EventLimits& limits, Replayer* replayer) {
  std::ifstream in(opt.events, std::ios::binary);
  if (!in) {
    std::cerr << "reins replay: cannot read " << opt.events << '\n';
    return 2;
  }
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = Event::Parse(line, limits);
    Status st =
        event.ok() ? replayer->FeedEvent(std::move(event).value(), line_no) : event.status();
    if (!st.ok()) {
      std::cerr << opt.events << ":" << line_no << ": " << st.message() << '\n';
      return st.code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
  }
  return 0;
}

int RunReplay(const ReplayOptions& opt) {
  int sources = !opt.session_id.empty() + opt.all + !opt.events.empty();
  if (sources != 1) {
    std::cerr << "reins replay: give one of SESSION, --all or --events FILE\n";
    return 2;
  }
  if (!opt.since.empty() && !opt.all) {
    std::cerr << "reins replay: --since goes with --all\n";
    return 2;
  }
  TimeUs since = 0;
  if (!opt.since.empty()) {
    auto t = ParseAuditTime(opt.since, SystemClock().Now());
    if (!t.ok()) {
      std::cerr << "reins replay: --since: " << t.status().message() << '\n';
      return 2;
    }
    since = *t;
  }
  auto layers = LoadReplayLayers(opt);
  if (!layers) return 2;

  EventLimits limits = layers->server->settings.limits;
  Printer printer(opt.source.json, UseColor(1));
  auto replayer = Replayer::Create(
      std::move(*layers), [&printer](const ReplayChange& c) { printer.Change(c); },
      [](const std::string& w) { std::cerr << "reins replay: " << w << '\n'; });
  if (!replayer.ok()) {
    std::cerr << "reins replay: " << replayer.status().message() << '\n';
    return 1;
  }
  if (!opt.events.empty()) {
    int rc = ReplayEventsFile(opt, limits, replayer->get());
    if (rc != 0) return rc;
  } else {
    auto log = OpenAuditLog(opt.source);
    if (!log.ok()) {
      std::cerr << "reins replay: " << log.status().message() << '\n';
      Status::Code code = log.status().code();
      return code == Status::Code::kIOError || code == Status::Code::kUnavailable ? 1 : 2;
    }
    auto sessions = SelectReplaySessions(log->get(), opt.session_id, opt.all, since);
    if (!sessions.ok()) {
      std::cerr << "reins replay: " << sessions.status().message() << '\n';
      Status::Code code = sessions.status().code();
      return code == Status::Code::kNotFound || code == Status::Code::kInvalidArgument ? 2 : 1;
    }
    Status st = ReplayRecorded(log->get(), *sessions, replayer->get());
    if (!st.ok()) {
      std::cout.flush();
      std::cerr << "reins replay: " << st.message() << '\n';
      return 1;
    }
  }
  printer.Finish((*replayer)->totals(), !opt.events.empty());
  std::cout.flush();
  return 0;
}

}  // namespace

void AddReplayCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "Re-evaluate recorded sessions against other policies and show what would change");
  cmd->add_option("SESSION", opt->session_id, "A recorded session (replayed with its tree)");
  cmd->add_flag("--all", opt->all, "Every session of the log");
  cmd->add_option("--events", opt->events, "An events file (JSON lines) instead of the log")
      ->check(CLI::ExistingFile);
  cmd->add_option("--server", opt->server, "The new server configuration (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--agent", opt->agent, "Agent spec (YAML) for every session")
      ->check(CLI::ExistingFile);
  cmd->add_option("--session", opt->session_file, "Session policies (YAML) for every session")
      ->check(CLI::ExistingFile);
  cmd->add_option("--since", opt->since,
                  "With --all: sessions started at or after (day, time, 7d)");
  AddAuditSourceOptions(cmd, &opt->source);
  cmd->callback([opt, exit_code] { *exit_code = RunReplay(*opt); });
}

}  // namespace reins
