// `reins audit export SESSION|--all [--format jsonl|csv] [--since DATE]
// [--records]` (docs/audit.md#exporting).
//
// By default the export is the log's events, one canonical JSON object per
// line, exactly as `reins eval --events` reads them: one session's in seq
// order, or every session's in the order reins recorded them (which a
// replay needs when sessions share state, such as a user's daily spend).
// --records exports every record kind with its seq, ts and hash instead.
// CSV has one row per event with its decision (or per record).
//
// An event that a policy modified (a masked prompt, a rerouted model) is
// exported as the policy let it through, its decision's patch applied:
// what a PII policy masked stays masked in every export. Such a record,
// under --records, says "patched": true, as its hash covers the event as
// received. The decision follows its event in the log, so an event waits in
// a short queue until its decision has been read; nothing else is kept.
#include <CLI/CLI.hpp>
#include <deque>
#include <iostream>

#include "cli/audit.h"
#include "engine/event.h"
#include "engine/json_fields.h"
#include "engine/sqlite_audit.h"

namespace reins {

namespace {

struct ExportOptions {
  AuditSource source;
  std::string session, format = "jsonl", since;
  bool all = false, records = false;
};

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvLine(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + CsvField(cells[i]);
  return line;
}

std::string NumberText(const Json& v) { return v.is_number() ? v.dump() : ""; }

// A record read and not yet written: an event waits for its decision.
struct Entry {
  explicit Entry(const StoredRecord& r, bool wait = false) : record(r), waiting(wait) {}
  StoredRecord record;
  bool waiting = false;  // an event whose decision has not been read yet
  bool patched = false;  // body is the event with its decision's patch applied
  Json decision;         // events: their decision's body (null until read)
};

class Exporter {
 public:
  Exporter(const ExportOptions& opt, std::ostream& out)
      : records_(opt.records), csv_(opt.format == "csv"), out_(out) {
    if (!csv_) return;
    out_ << (records_ ? "session,seq,ts,kind,type,hash,patched,body\n"
                      : "session,seq,ts,type,tool,model,verdict,policies,reason,cost_usd,"
                        "input_tokens,output_tokens,approval_id,summary\n");
  }

  Status Add(const StoredRecord& r) {
    if (r.kind == RecordKind::kDecision) {
      Json decision = Json::parse(r.body, nullptr, false);
      if (!decision.is_object()) return Bad(r, "body is not a JSON object");
      if (Status st = Decide(r, std::move(decision)); !st.ok()) return st;
      if (records_) queue_.emplace_back(r);
    } else if (r.kind == RecordKind::kEvent) {
      // A session's next event means the one before it got no decision.
      for (Entry& e : queue_) e.waiting = e.waiting && e.record.session != r.session;
      queue_.emplace_back(r, /*wait=*/true);
    } else if (records_) {
      queue_.emplace_back(r);
    }
    // Events are atomic with their decisions, so the queue stays short; a
    // log that breaks that (an event with no decision) is written as it is.
    while (!queue_.empty() && (!queue_.front().waiting || queue_.size() > kMaxQueue)) {
      Write(queue_.front());
      queue_.pop_front();
    }
    return Status::OK();
  }

  void Finish() {
    for (const Entry& e : queue_) Write(e);
    queue_.clear();
    out_.flush();
  }

 private:
  static constexpr size_t kMaxQueue = 100000;

  static Status Bad(const StoredRecord& r, const std::string& what) {
    return Status::Corruption("session '" + r.session + "' record " + std::to_string(r.seq) + ": " +
                              what);
  }

  // Pairs a decision with its event and applies its patch.
  Status Decide(const StoredRecord& r, Json decision) {
    int64_t event_seq = decision.value("event_seq", int64_t{0});
    for (auto it = queue_.rbegin(); it != queue_.rend(); ++it) {
      Entry& e = *it;
      if (!e.waiting || e.record.session != r.session || e.record.seq != event_seq) continue;
      e.waiting = false;
      auto patch = decision.find("patch");
      if (patch != decision.end() && patch->is_object()) {
        Json event = Json::parse(e.record.body, nullptr, false);
        if (!event.is_object()) return Bad(e.record, "body is not a JSON object");
        event.merge_patch(*patch);
        e.record.body = CanonicalJson(event);
        e.patched = true;
      }
      e.decision = std::move(decision);
      break;
    }
    return Status::OK();
  }

  void Write(const Entry& e) {
    const StoredRecord& r = e.record;
    if (records_ && !csv_) {
      out_ << "{\"body\":" << r.body << ",\"hash\":\"" << r.hash << "\",\"kind\":\""
           << RecordKindName(r.kind) << (e.patched ? "\",\"patched\":true" : "\"")
           << ",\"seq\":" << r.seq << ",\"session\":" << CanonicalJson(Json(r.session))
           << ",\"ts\":\"" << FormatRfc3339(r.ts) << "\"}\n";
    } else if (records_) {
      out_ << CsvLine({r.session, std::to_string(r.seq), FormatRfc3339(r.ts),
                       std::string(RecordKindName(r.kind)), r.type, r.hash,
                       e.patched ? "true" : "false", r.body})
           << '\n';
    } else if (!csv_) {
      out_ << r.body << '\n';
    } else {
      WriteEventRow(e);
    }
  }

  void WriteEventRow(const Entry& e) {
    const StoredRecord& r = e.record;
    Json event = Json::parse(r.body, nullptr, false);
    if (!event.is_object()) event = Json::object();
    const Json& d = e.decision.is_object() ? e.decision : Json::object();
    std::string policies;
    for (const Json& p : d.value("policies", Json::array())) {
      if (p.is_string()) policies += (policies.empty() ? "" : ";") + p.get<std::string>();
    }
    Json cost = d.value("cost", Json::object());
    Json tokens = cost.is_object() ? cost.value("tokens", Json::object()) : Json::object();
    auto num = [](const Json& obj, const char* key) {
      auto it = obj.find(key);
      return it != obj.end() ? NumberText(*it) : std::string();
    };
    std::string model = JsonString(event, "model");
    if (model.empty() && cost.is_object()) model = JsonString(cost, "model");
    out_ << CsvLine({r.session, std::to_string(r.seq), FormatRfc3339(r.ts), r.type,
                     JsonString(event, "tool"), model, JsonString(d, "verdict"), policies,
                     JsonString(d, "reason"), cost.is_object() ? num(cost, "usd") : "",
                     num(tokens, "input"), num(tokens, "output"), JsonString(d, "approval_id"),
                     EventSummary(event, 80)})
         << '\n';
  }

  bool records_, csv_;
  std::ostream& out_;
  std::deque<Entry> queue_;
};

int RunExport(const ExportOptions& opt) {
  if (opt.all == !opt.session.empty()) {
    std::cerr << "reins audit export: give a SESSION or --all\n";
    return 2;
  }
  RecordScan scan;
  scan.session = opt.session;
  if (!opt.since.empty()) {
    auto since = ParseAuditTime(opt.since, SystemClock().Now());
    if (!since.ok()) {
      std::cerr << "reins audit export: --since: " << since.status().message() << '\n';
      return 2;
    }
    scan.since = *since;
  }
  auto store = OpenAuditLog(opt.source);
  if (!store.ok()) {
    std::cerr << "reins audit export: " << store.status().message() << '\n';
    return 2;
  }
  std::string path = *AuditLogPath(opt.source);
  if (!opt.all) {
    auto session = (*store)->GetSession(opt.session);
    if (!session.ok() || !*session) {
      std::cerr << "reins audit export: "
                << (session.ok() ? "no session '" + opt.session + "' in " + path
                                 : session.status().message())
                << '\n';
      return session.ok() ? 2 : 1;
    }
  }
  store->reset();

  std::ios::sync_with_stdio(false);
  Exporter exporter(opt, std::cout);
  Status failed;
  Status st = ScanSqliteLog(path, scan, [&](const StoredRecord& r) {
    failed = exporter.Add(r);
    return failed.ok();
  });
  exporter.Finish();
  if (st.ok()) st = failed;
  if (!st.ok()) {
    std::cerr << "reins audit export: " << st.message() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace

void AddAuditExportCommand(CLI::App& audit, int* exit_code) {
  auto opt = std::make_shared<ExportOptions>();
  CLI::App* cmd = audit.add_subcommand(
      "export", "Write the log as canonical JSON lines (reins eval --events input) or CSV");
  cmd->add_option("session", opt->session, "The session to export");
  cmd->add_flag("--all", opt->all, "Export every session, in the order they were recorded");
  cmd->add_option("--format", opt->format, "jsonl (default) or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  cmd->add_option("--since", opt->since,
                  "Only records from then on (2026-11-21, an RFC 3339 time, 7d)");
  cmd->add_flag("--records", opt->records,
                "Every record (decisions, state, approvals...) with seq, ts and hash");
  AddAuditSourceOptions(cmd, &opt->source);
  cmd->remove_option(cmd->get_option("--json"));  // the output is JSON lines already
  cmd->callback([opt, exit_code] { *exit_code = RunExport(*opt); });
}

}  // namespace reins
