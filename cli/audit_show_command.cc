// `reins audit show SESSION`: a session's timeline, one row per event with
// the verdict, the policy and reason, and the running cost; approvals with
// who decided and how long the ask waited. `--follow` goes on printing
// what is appended until the session ends. With --server the records come
// from a running server (its events API, then its live stream) instead of
// the database.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "cli/audit.h"
#include "cli/server_client.h"
#include "cli/table.h"
#include "engine/clock.h"
#include "engine/json_fields.h"
#include "engine/record.h"
#include "server/http_client.h"

namespace reins {

namespace {

struct ShowOptions {
  AuditSource source;
  ClientOptions client;  // client.server set: read from that server
  std::string session;
  std::vector<std::string> types;
  bool follow = false;
};

std::string Waited(TimeUs us) {
  int64_t s = us / 1000000;
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  }
  return buf;
}

// What an event was about, in a few words.
std::string Summary(const Json& e) {
  std::string type = JsonString(e, "type");
  if (type == "tool_call" || type == "tool_result") {
    const Json& in = e.value(type == "tool_call" ? "input" : "output", Json());
    if (in.is_object()) {
      for (const char* k : {"command", "cmd", "file_path", "path", "url", "pattern", "query"}) {
        if (in.contains(k) && in[k].is_string()) return in[k].get<std::string>();
      }
    }
    if (in.is_string()) return in.get<std::string>();
    return in.is_null() ? "" : in.dump();
  }
  if (type == "llm_response") {
    const Json& u = e.value("usage", Json::object());
    return JsonString(e, "model") + " " + std::to_string(u.value("input_tokens", 0)) + " in / " +
           std::to_string(u.value("output_tokens", 0)) + " out";
  }
  if (type == "llm_request") return JsonString(e, "model") + " \"" + JsonString(e, "text") + "\"";
  if (type == "session_start") {
    std::string s;
    for (const char* k : {"user", "agent", "harness", "model"}) {
      std::string v = JsonString(e, k);
      if (!v.empty()) s += (s.empty() ? "" : " ") + std::string(k) + "=" + v;
    }
    return s;
  }
  if (type == "approval")
    return (e.value("approved", false) ? "approved " : "denied ") + JsonString(e, "note");
  if (type == "cost") return "$" + std::to_string(e.value("cost_usd", 0.0));
  for (const char* k : {"text", "reason"}) {
    std::string v = JsonString(e, k);
    if (!v.empty()) return v;
  }
  return "";
}

// Prints records as rows; holds an event's row until its decision comes.
class Timeline {
 public:
  Timeline(const ShowOptions& o, bool color) : o_(o), color_(color) {
    for (const std::string& t : o.types) types_.insert(t);
  }

  void Add(const Record& r) {
    last_seq_ = r.seq;
    const Json& b = r.body;
    switch (r.kind) {
      case RecordKind::kEvent: {
        Flush();
        // An approval event's row would repeat the approval record's, which
        // also says who decided and how long the ask waited.
        std::string type = JsonString(b, "type");
        if (type == "approval") break;
        pending_ = MakeRow(r, type, JsonString(b, "tool"), Summary(b));
        pending_event_ = b;
        if (type == "session_end") ended_ = true;
        break;
      }
      case RecordKind::kDecision: {
        if (b.contains("cost") && b["cost"].is_object()) cost_ += b["cost"].value("usd", 0.0);
        if (!pending_ || b.value("event_seq", int64_t{0}) != pending_->seq) break;
        pending_->verdict = JsonString(b, "verdict");
        // What a policy rewrote (a redaction) is shown as rewritten: the
        // secret the event carried stays out of the audit's output.
        if (b.contains("patch") && b["patch"].is_object()) {
          pending_event_.merge_patch(b["patch"]);
          pending_->summary = Summary(pending_event_);
        }
        for (const Json& p : b.value("policies", Json::array())) {
          if (p.is_string())
            pending_->policy += (pending_->policy.empty() ? "" : ", ") + p.get<std::string>();
        }
        pending_->reason = JsonString(b, "reason");
        pending_->cost = cost_;
        Flush();
        break;
      }
      case RecordKind::kApproval: {
        Flush();
        std::string op = JsonString(b, "op"), id = JsonString(b, "id");
        if (op == "requested") {
          asked_at_[id] = r.ts;
          break;
        }
        auto asked = asked_at_.find(id);
        std::string waited =
            asked == asked_at_.end() ? "" : " after " + Waited(r.ts - asked->second);
        Row row = MakeRow(r, "approval", "", "");
        if (op == "resolved") {
          bool ok = b.value("approved", false);
          row.verdict = ok ? "allow" : "deny";
          std::string by = JsonString(b, "by");
          row.summary = std::string(ok ? "approved" : "denied") + " by " + (by.empty() ? "?" : by) +
                        waited + ": " + id;
          row.reason = JsonString(b, "note");
        } else {
          row.verdict = "deny";
          row.summary = "expired" + waited + ": " + id;
        }
        row.cost = cost_;
        Emit(row);
        break;
      }
      case RecordKind::kChildCost:
        Flush();
        cost_ += b.value("cost_usd", 0.0);
        Emit(MakeRow(r, "child_cost", "", JsonString(b, "child") + " " + JsonString(b, "model")));
        break;
      case RecordKind::kNote:
        Flush();
        Emit(MakeRow(r, "note", "", JsonString(b, "source"), JsonString(b, "message")));
        break;
      case RecordKind::kConfig:
        Flush();
        Emit(MakeRow(r, "config", "", JsonString(b, "change") + " by " + JsonString(b, "by")));
        break;
      case RecordKind::kState:
        break;
    }
  }

  // Writes what is held: a table once (the whole timeline), or line by
  // line when following.
  void Flush() {
    if (!pending_) return;
    if (pending_->cost < 0) pending_->cost = cost_;
    Emit(*pending_);
    pending_.reset();
  }

  void Print(bool whole) {
    if (o_.source.json) return;
    if (whole) {
      table_.Print(std::cout, color_, 1000);  // inputs are cut in Emit; reasons stay whole
    } else {
      for (auto& line : lines_) std::cout << line << '\n';
    }
    lines_.clear();
    std::cout << std::flush;
  }

  int64_t last_seq() const { return last_seq_; }
  bool ended() const { return ended_; }
  bool following = false;

 private:
  struct Row {
    int64_t seq = 0;
    TimeUs ts = 0;
    std::string type, tool, summary, verdict, policy, reason;
    double cost = -1;
  };

  Row MakeRow(const Record& r, std::string type, std::string tool, std::string summary,
              std::string reason = "") {
    Row row;
    row.seq = r.seq;
    row.ts = r.ts;
    row.type = std::move(type);
    row.tool = std::move(tool);
    row.summary = std::move(summary);
    row.reason = std::move(reason);
    return row;
  }

  void Emit(const Row& r) {
    if (!types_.empty() && !types_.count(r.type)) return;
    std::string time = FormatRfc3339(r.ts).substr(11, 8);
    char cost[32];
    std::snprintf(cost, sizeof cost, "$%.4f", r.cost < 0 ? cost_ : r.cost);
    if (o_.source.json) {
      Json j = {{"seq", r.seq},
                {"ts", FormatRfc3339(r.ts)},
                {"type", r.type},
                {"summary", r.summary},
                {"cost_usd", r.cost < 0 ? cost_ : r.cost}};
      if (!r.tool.empty()) j["tool"] = r.tool;
      if (!r.verdict.empty()) j["verdict"] = r.verdict;
      if (!r.policy.empty()) j["policies"] = r.policy;
      if (!r.reason.empty()) j["reason"] = r.reason;
      std::cout << j.dump() << '\n' << std::flush;
      return;
    }
    std::string input = Cut(r.summary, 60);
    for (char& c : input) {
      if (c == '\n' || c == '\t') c = ' ';
    }
    std::vector<std::string> cells = {
        time, std::to_string(r.seq), r.type, r.tool, input, r.verdict, r.policy, cost, r.reason};
    if (following) {
      std::string line;
      for (const std::string& c : cells) line += (line.empty() ? "" : "  ") + c;
      lines_.push_back(line);
    } else {
      table_.AddRow(cells, {"", "", "", "", "", VerdictColor(r.verdict), "", "", ""});
    }
  }

  const ShowOptions& o_;
  bool color_;
  std::set<std::string> types_;
  Table table_{{"time", "seq", "type", "tool", "input", "verdict", "policy", "cost", "reason"}};
  std::vector<std::string> lines_;
  std::optional<Row> pending_;
  Json pending_event_;
  std::map<std::string, TimeUs> asked_at_;
  double cost_ = 0;
  int64_t last_seq_ = 0;
  bool ended_ = false;
};

int Fail(int code, const std::string& message) {
  std::cerr << "reins audit show: " << message << '\n';
  return code;
}

void PrintHeader(const ShowOptions& o, const SessionSummary& s) {
  if (o.source.json) return;
  std::cout << "session " << s.id << "  started " << FormatRfc3339(s.started_at).substr(0, 19)
            << "Z" << (s.user.empty() ? "" : "  user " + s.user)
            << (s.agent.empty() ? "" : "  agent " + s.agent)
            << (s.harness.empty() ? "" : "  harness " + s.harness)
            << (s.parent.empty() ? "" : "  parent " + s.parent) << "\n\n";
}

// The timeline from a server: the log page by page from its events API,
// then (--follow) its live stream of records until the session ends.
int RunShowRemote(const ShowOptions& o) {
  auto token = ClientToken(o.client, "approver.token");
  if (!token.ok()) return Fail(2, token.status().message());
  HttpClient client(ServerAddress(o.client));
  std::string path = "/v1/sessions/" + PathSegment(o.session);
  auto failed = [&](const Result<HttpResult>& r) {
    if (!r.ok()) return Fail(1, ServerAddress(o.client) + ": " + r.status().message());
    Json e = r->json();
    std::string message = e.is_object() && e.contains("error")
                              ? e["error"].value("message", r->body)
                              : r->body.substr(0, 300);
    return Fail(r->status == 404 ? 2 : 1,
                "the server answered " + std::to_string(r->status) + ": " + message);
  };
  Timeline timeline(o, UseColor(1));
  auto add = [&](const Json& j) -> Status {
    auto r = Record::FromJson(j);
    if (!r.ok()) return r.status().WithPrefix("a record from the server");
    timeline.Add(*r);
    return Status::OK();
  };
  bool header = false;
  while (true) {
    auto page = client.Request("GET", path + "/events?after=" + std::to_string(timeline.last_seq()),
                               "", *token);
    if (!page.ok() || page->status != 200) return failed(page);
    const Json records = page->json().value("records", Json::array());
    if (!header && records.empty()) {
      return Fail(2, "no session '" + o.session + "' on " + ServerAddress(o.client));
    }
    if (!header) {
      // The header from the session_start record, which opens every session.
      SessionSummary s;
      s.id = o.session;
      if (!records.empty()) {
        const Json& first = records[0];
        const Json body = first.value("body", Json::object());
        auto started = ParseRfc3339(first.value("ts", ""));
        s.started_at = started.ok() ? *started : 0;
        s.user = body.value("user", "");
        s.agent = body.value("agent", "");
        s.harness = body.value("harness", "");
        s.parent = body.value("parent", "");
      }
      PrintHeader(o, s);
      header = true;
    }
    for (const Json& j : records) {
      Status st = add(j);
      if (!st.ok()) return Fail(1, st.message());
    }
    if (records.empty()) break;
  }
  timeline.Flush();
  timeline.Print(true);
  if (!o.follow) return 0;
  timeline.following = true;
  std::string pending;
  while (!timeline.ended()) {
    auto head =
        client.OpenStream(path + "/stream?after=" + std::to_string(timeline.last_seq()), *token);
    if (!head.ok() || head->status != 200) return failed(head);
    bool resume = false;
    while (!timeline.ended() && !resume) {
      auto chunk = client.ReadStream();
      if (!chunk.ok()) return Fail(1, "the server's stream: " + chunk.status().message());
      if (chunk->empty()) return Fail(1, "the server ended the stream before the session ended");
      pending += *chunk;
      // Server-sent events end with a blank line; a record is a "data:" line.
      for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
        std::string frame = pending.substr(0, end);
        pending.erase(0, end + 2);
        if (frame.find("event: overflow") != std::string::npos) resume = true;
        size_t data = frame.find("data: ");
        if (resume || data == std::string::npos) continue;
        Json j =
            Json::parse(frame.substr(data + 6, frame.find('\n', data) - data - 6), nullptr, false);
        if (!j.is_object() || !j.contains("seq")) continue;  // not a record (a keep-alive)
        Status st = add(j);
        if (!st.ok()) return Fail(1, st.message());
      }
      timeline.Print(false);
    }
    pending.clear();
  }
  timeline.Flush();
  timeline.Print(false);
  return 0;
}

int RunShow(const ShowOptions& o) {
  if (!o.client.server.empty()) return RunShowRemote(o);
  auto fail = Fail;
  auto store = OpenAuditLog(o.source);
  if (!store.ok()) {
    return fail(store.status().code() == Status::Code::kInvalidArgument ? 2 : 1,
                store.status().message());
  }
  auto summary = (*store)->GetSession(o.session);
  if (!summary.ok()) return fail(1, summary.status().message());
  if (!*summary) return fail(2, "no session '" + o.session + "' in the log");
  PrintHeader(o, **summary);
  Timeline timeline(o, UseColor(1));
  auto scan = [&] {
    return (*store)->Scan(o.session, timeline.last_seq(), 0, [&](const Record& r) {
      timeline.Add(r);
      return true;
    });
  };
  Status st = scan();
  if (!st.ok()) return fail(1, st.message());
  timeline.Flush();
  timeline.Print(true);
  if (!o.follow) return 0;
  // Polling: another process (a server, a hook) is the writer, and SQLite
  // has no change notification across processes.
  timeline.following = true;
  while (!timeline.ended()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    st = scan();
    if (!st.ok()) return fail(1, st.message());
    timeline.Print(false);
  }
  timeline.Flush();
  timeline.Print(false);
  return 0;
}

}  // namespace

void AddAuditShowCommand(CLI::App& audit, int* exit_code) {
  auto o = std::make_shared<ShowOptions>();
  CLI::App* cmd = audit.add_subcommand("show",
                                       "A session's timeline: events, verdicts, "
                                       "approvals and the running cost");
  cmd->add_option("session", o->session, "The session")->required();
  AddAuditSourceOptions(cmd, &o->source);
  cmd->add_option("--types", o->types,
                  "Only these rows (event types, approval, child_cost, note, config)")
      ->delimiter(',');
  cmd->add_flag("--follow", o->follow, "Go on printing new records until the session ends");
  cmd->add_option("--server", o->client.server,
                  "Read the session from this server instead of a database: http://HOST:PORT "
                  "or unix:/PATH");
  cmd->add_option("--token-file", o->client.token_file,
                  "With --server: a file holding an approver or admin token (default "
                  "$REINS_TOKEN_FILE, else ~/.reins/approver.token; $REINS_TOKEN wins over both)");
  cmd->callback([o, exit_code] { *exit_code = RunShow(*o); });
}

}  // namespace reins
