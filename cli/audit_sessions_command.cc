// `reins audit sessions` (one line per session) and `reins audit cost`
// (spend grouped by user, agent, model, day or session tree). Both answer
// from the log's indexes (engine/sqlite_schema.cc), never by reading it all.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/audit.h"
#include "cli/table.h"
#include "engine/clock.h"

namespace reins {

namespace {

std::string Money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, usd != 0 && usd < 0.01 ? "$%.4f" : "$%.2f", usd);
  return buf;
}

std::string Minute(TimeUs t) { return t ? FormatRfc3339(t).substr(0, 16).replace(10, 1, " ") : ""; }

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

struct SessionsOptions {
  AuditSource source;
  std::string user, agent, since, until, verdict;
  int64_t limit = 100;
};

int RunSessions(const SessionsOptions& o) {
  auto store = OpenAuditLog(o.source);
  if (!store.ok()) {
    std::cerr << "reins audit sessions: " << store.status().message() << '\n';
    return store.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  SessionQuery q;
  q.user = o.user;
  q.agent = o.agent;
  q.verdict = o.verdict;
  q.limit = o.limit;
  for (auto [text, out, name] :
       {std::tuple{&o.since, &q.since, "--since"}, std::tuple{&o.until, &q.until, "--until"}}) {
    if (text->empty()) continue;
    auto t = ParseAuditTime(*text, SystemClock().Now());
    if (!t.ok()) {
      std::cerr << "reins audit sessions: " << name << ": " << t.status().message() << '\n';
      return 2;
    }
    *out = *t;
  }
  Table table({"started", "session", "user", "agent", "harness", "models", "events", "cost",
               "denies", "asks", "status"});
  bool color = UseColor(1);
  // Page by page, so memory stays flat however many sessions match: each
  // page is listed, then totalled (a store callback may not call the
  // store), then written; the first page fixes the table's column widths.
  constexpr int64_t kPage = 1000;
  int64_t left = o.limit > 0 ? o.limit : -1;
  std::vector<SessionSummary> sessions;
  while (left != 0) {
    q.limit = left > 0 ? std::min(left, kPage) : kPage;
    sessions.clear();
    Status listed = (*store)->ListSessions(q, [&](const SessionSummary& s) {
      sessions.push_back(s);
      return true;
    });
    if (!listed.ok()) {
      std::cerr << "reins audit sessions: " << listed.message() << '\n';
      return 1;
    }
    for (const SessionSummary& s : sessions) {
      auto totals = (*store)->GetSessionTotals(s.id);
      if (!totals.ok()) {
        std::cerr << "reins audit sessions: " << totals.status().message() << '\n';
        return 1;
      }
      const SessionTotals& t = *totals;
      std::string status = s.ended ? "ended" : "open";
      if (o.source.json) {
        Json line = {{"session", s.id},      {"started_at", FormatRfc3339(s.started_at)},
                     {"user", s.user},       {"agent", s.agent},
                     {"harness", s.harness}, {"models", t.models},
                     {"events", t.events},   {"cost_usd", t.cost_usd},
                     {"denies", t.denies},   {"asks", t.asks},
                     {"status", status},     {"last_at", FormatRfc3339(s.last_at)}};
        if (!s.parent.empty()) line["parent"] = s.parent;
        std::cout << line.dump() << '\n';
        continue;
      }
      std::string models;
      for (const std::string& m : t.models) models += (models.empty() ? "" : ", ") + m;
      table.AddRow(
          {Minute(s.started_at), s.id, s.user, s.agent, s.harness, models, Thousands(t.events),
           Money(t.cost_usd), std::to_string(t.denies), std::to_string(t.asks), status},
          {"", "", "", "", "", "", "", "", t.denies ? "31" : "", t.asks ? "33" : "", ""});
    }
    if (!o.source.json) table.Flush(std::cout, color, 40);
    if (left > 0) left -= static_cast<int64_t>(sessions.size());
    if (static_cast<int64_t>(sessions.size()) < q.limit) break;
    q.after = {sessions.back().started_at, sessions.back().id};
  }
  return 0;
}

struct CostOptions {
  AuditSource source;
  std::string by = "model", since, until;
};

int RunCost(const CostOptions& o) {
  auto store = OpenAuditLog(o.source);
  if (!store.ok()) {
    std::cerr << "reins audit cost: " << store.status().message() << '\n';
    return store.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  SpendQuery q;
  q.by = o.by;
  TimeUs now = SystemClock().Now();
  for (auto [text, out, name] : {std::tuple{&o.since, &q.since_day, "--since"},
                                 std::tuple{&o.until, &q.until_day, "--until"}}) {
    if (text->empty()) continue;
    auto t = ParseAuditTime(*text, now);
    if (!t.ok()) {
      std::cerr << "reins audit cost: " << name << ": " << t.status().message() << '\n';
      return 2;
    }
    *out = UtcDay(*t);
  }
  std::vector<SpendRow> rows;
  Status st = (*store)->ListSpend(q, [&](const SpendRow& r) {
    rows.push_back(r);
    return true;
  });
  if (!st.ok()) {
    std::cerr << "reins audit cost: " << st.message() << '\n';
    return st.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  if (o.source.json) {
    for (const SpendRow& r : rows) {
      std::cout << Json{{o.by, r.key},
                        {"model", r.model},
                        {"cost_usd", r.cost_usd},
                        {"calls", r.calls},
                        {"input_tokens", r.input_tokens},
                        {"output_tokens", r.output_tokens},
                        {"cache_read_tokens", r.cache_read_tokens},
                        {"cache_creation_tokens", r.cache_creation_tokens}}
                       .dump()
                << '\n';
    }
    return 0;
  }
  // Groups of one model print on one line; larger groups get a subtotal.
  std::map<std::string, std::pair<double, int>> groups;
  double total = 0;
  for (const SpendRow& r : rows) {
    groups[r.key].first += r.cost_usd;
    groups[r.key].second++;
    total += r.cost_usd;
  }
  bool by_model = o.by == "model";
  std::vector<std::string> head = {o.by == "session" ? "session (with children)" : o.by};
  if (!by_model) head.push_back("model");
  for (const char* h : {"calls", "input", "output", "cache read", "cache write", "cost"}) {
    head.push_back(h);
  }
  Table table(head);
  std::string last;
  for (const SpendRow& r : rows) {
    std::vector<std::string> cells = {r.key == last ? "" : (r.key.empty() ? "-" : r.key)};
    if (!by_model) cells.push_back(r.model.empty() ? "-" : r.model);
    for (int64_t n :
         {r.calls, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_creation_tokens}) {
      cells.push_back(Thousands(n));
    }
    cells.push_back(Money(r.cost_usd));
    table.AddRow(cells);
    last = r.key;
    auto g = groups[r.key];
    bool group_ends = &r == &rows.back() || (&r + 1)->key != r.key;
    if (!by_model && group_ends && g.second > 1) {
      std::vector<std::string> sub(head.size(), "");
      sub[1] = "all models";
      sub.back() = Money(g.first);
      table.AddRow(sub, std::vector<std::string>(head.size(), "1"));
    }
  }
  std::vector<std::string> sum(head.size(), "");
  sum[0] = "total";
  sum.back() = Money(total);
  table.AddRow(sum, std::vector<std::string>(head.size(), "1"));
  table.Print(std::cout, UseColor(1), 40);
  return 0;
}

}  // namespace

void AddAuditSessionsCommand(CLI::App& audit, int* exit_code) {
  auto o = std::make_shared<SessionsOptions>();
  CLI::App* cmd = audit.add_subcommand("sessions", "One line per session, newest first");
  AddAuditSourceOptions(cmd, &o->source);
  cmd->add_option("--user", o->user, "Only this user's sessions");
  cmd->add_option("--agent", o->agent, "Only this agent's sessions");
  cmd->add_option("--since", o->since, "Started at or after (2026-11-21, an RFC 3339 time, 7d)");
  cmd->add_option("--until", o->until, "Started before");
  cmd->add_option("--verdict", o->verdict, "Only sessions with a deny or an ask")
      ->check(CLI::IsMember({"deny", "ask"}));
  cmd->add_option("--limit", o->limit, "At most this many sessions (0: all)")
      ->capture_default_str();
  cmd->callback([o, exit_code] { *exit_code = RunSessions(*o); });
}

void AddAuditCostCommand(CLI::App& audit, int* exit_code) {
  auto o = std::make_shared<CostOptions>();
  CLI::App* cmd = audit.add_subcommand("cost",
                                       "Spend and tokens per user, agent, model, day or "
                                       "session (child sessions under their root)");
  AddAuditSourceOptions(cmd, &o->source);
  cmd->add_option("--by", o->by, "Group by")
      ->capture_default_str()
      ->check(CLI::IsMember({"user", "agent", "model", "day", "session"}));
  cmd->add_option("--since", o->since, "From this day (2026-11-21, an RFC 3339 time, 7d)");
  cmd->add_option("--until", o->until, "To this day, inclusive");
  cmd->callback([o, exit_code] { *exit_code = RunCost(*o); });
}

}  // namespace reins
