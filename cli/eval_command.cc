// reins eval: runs a stream of canonical events through a configuration.
//
// Contract (docs/cli.md): one JSON object per input line, in order,
//   {"seq","session","type","verdict","reason"?,"policies","approval_id"?,"patch"?}
// Blank lines are skipped. A line that is not a valid event (or that the
// engine cannot accept, such as an approval with nothing pending) stops the
// run with "FILE:LINE: message" on stderr and exit status 2; everything
// before it has been printed and recorded.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/setup.h"
#include "cli/table.h"
#include "engine/engine.h"

namespace reins {

namespace {

struct EvalOptions {
  std::string server, agent, session, events, db, format = "json";
};

bool IsBlank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

int RunEval(const EvalOptions& opt) {
  auto config = LoadLayers(opt.server, opt.agent, opt.session, std::cerr);
  if (!config) return 2;

  std::string db = !opt.db.empty() ? opt.db : config->settings.db_path;
  SqliteOptions sqlite;
  sqlite.durability = config->settings.durability;
  auto store = OpenSqliteLogStore(db.empty() ? ":memory:" : db, sqlite);
  if (!store.ok()) {
    std::cerr << "reins eval: " << store.status().message() << '\n';
    return 1;
  }
  SystemClock clock;
  EngineOptions engine_options;
  engine_options.default_ask_timeout = config->settings.ask_timeout;
  Engine engine(store->get(), config->settings.prices, &clock, engine_options);
  engine.SetPolicies(config->policies);

  std::ifstream file;
  std::istream* in = &std::cin;
  std::string source = opt.events == "-" ? "<stdin>" : opt.events;
  if (opt.events != "-") {
    file.open(opt.events, std::ios::binary);
    if (!file) {
      std::cerr << "reins eval: cannot read " << opt.events << '\n';
      return 2;
    }
    in = &file;
  }

  bool table = opt.format == "table";
  Table out({"seq", "session", "type", "event", "verdict", "policies", "reason"});
  std::string line;
  int64_t line_no = 0;
  int status = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (IsBlank(line)) continue;
    auto event = Event::Parse(line, config->settings.limits);
    if (!event.ok()) {
      std::cerr << source << ":" << line_no << ": " << event.status().message() << '\n';
      status = 2;
      break;
    }
    Json event_json = event->json();
    auto decision = engine.Submit(std::move(event).value());
    if (!decision.ok()) {
      std::cerr << source << ":" << line_no << ": " << decision.status().message() << '\n';
      status = decision.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
      break;
    }
    if (table) {
      std::string verdict(VerdictName(decision->verdict));
      std::string policies;
      for (const std::string& p : decision->policies) policies += (policies.empty() ? "" : ",") + p;
      out.AddRow({std::to_string(decision->seq), decision->session,
                  std::string(EventTypeName(decision->type)), EventSummary(event_json), verdict,
                  policies, decision->reason},
                 {"", "", "", "", VerdictColor(verdict), "", ""});
    } else {
      std::cout << decision->ToLine() << '\n';
    }
  }
  if (table) out.Print(std::cout, UseColor(1), 70);
  std::cout.flush();
  return status;
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate a stream of canonical events (JSON lines) against a configuration");
  cmd->add_option("--server", opt->server, "Server configuration (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("--agent", opt->agent, "Agent spec (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("--session", opt->session, "Session policies (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("--events", opt->events, "Events file, one JSON object per line; - for stdin")
      ->required();
  cmd->add_option("--db", opt->db, "SQLite session log (default: the config's, else in memory)");
  cmd->add_option("--format", opt->format, "Output: json (one object per line) or table")
      ->check(CLI::IsMember({"json", "table"}));
  cmd->callback([opt, exit_code] { *exit_code = RunEval(*opt); });
}

}  // namespace reins
