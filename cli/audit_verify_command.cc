// `reins audit verify [SESSION|--all]`: recomputes hash chains
// (docs/audit.md#verifying-the-log).
//
// Output, one line per session in session id order: an aligned table
// (session, records, status, first break) and a summary line, or with
// --json one object per session:
//   {"session","records","ok"} and, for a broken chain, "seq" and "reason"
// of its first record that does not verify. `records` counts the records
// checked: all of an intact session, up to the break of a broken one.
// Exit status 0 when every chain verifies, 1 when one does not (or the log
// cannot be read), 2 for bad input (no such log or session).
#include <CLI/CLI.hpp>
#include <iostream>
#include <thread>

#include "cli/audit.h"
#include "cli/table.h"
#include "engine/sqlite_audit.h"

namespace reins {

namespace {

struct VerifyOptions {
  AuditSource source;
  std::string session;
  bool all = false;
  int threads = 0;  // 0: one per core
};

// The table, printed as it goes: a log can hold more sessions than are worth
// keeping in memory, so column widths come from the first rows (a longer
// cell later only shifts its own row).
class VerifyPrinter {
 public:
  explicit VerifyPrinter(bool json) : json_(json), color_(UseColor(1)) {}

  void Add(const VerifyReport& r) {
    ++sessions_;
    records_ += r.records;
    if (!r.ok()) ++broken_;
    if (json_) {
      Json j = {{"session", r.session}, {"records", r.records}, {"ok", r.ok()}};
      if (!r.ok()) {
        j["seq"] = r.first_break->seq;
        j["reason"] = r.first_break->reason;
      }
      std::cout << j.dump() << '\n';
      return;
    }
    pending_.push_back(r);
    if (pending_.size() >= kWidthRows) Flush();
  }

  // Prints what is left and, when every session was checked, the summary;
  // the exit status.
  int Finish(bool complete) {
    if (!json_) Flush();
    if (json_ || !complete) {
      std::cout.flush();
      return broken_ || !complete ? 1 : 0;
    }
    std::cout << sessions_ << (sessions_ == 1 ? " session, " : " sessions, ") << records_
              << (records_ == 1 ? " record checked: " : " records checked: ")
              << (broken_ ? std::to_string(broken_) + " broken" : "every chain verifies") << '\n';
    std::cout.flush();
    return broken_ ? 1 : 0;
  }

 private:
  static constexpr size_t kWidthRows = 1000;

  void PrintHeader() {
    header_printed_ = true;
    for (const VerifyReport& r : pending_) {
      session_width_ = std::max(session_width_, r.session.size());
      records_width_ = std::max(records_width_, std::to_string(r.records).size());
    }
    Row("session", "records", "status", "first break", "1");
  }

  void Flush() {
    if (!header_printed_) PrintHeader();
    for (const VerifyReport& r : pending_) {
      std::string at =
          r.ok() ? "" : "seq " + std::to_string(r.first_break->seq) + ": " + r.first_break->reason;
      Row(r.session, std::to_string(r.records), r.ok() ? "ok" : "BROKEN", at, r.ok() ? "32" : "31");
    }
    pending_.clear();
  }

  void Row(const std::string& session, const std::string& records, const std::string& status,
           const std::string& at, const std::string& color) {
    std::string line = session + std::string(Pad(session, session_width_), ' ') +
                       std::string(Pad(records, records_width_), ' ') + records + "  ";
    std::string status_cell = status + std::string(Pad(status, 6), ' ');
    line += color_ ? "\033[" + color + "m" + status_cell + "\033[0m" : status_cell;
    if (!at.empty()) line += at;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << '\n';
  }

  static size_t Pad(const std::string& cell, size_t width) {
    return cell.size() < width ? width - cell.size() + 2 : 2;
  }

  bool json_, color_;
  bool header_printed_ = false;
  size_t session_width_ = 7, records_width_ = 7;
  std::vector<VerifyReport> pending_;
  int64_t sessions_ = 0, records_ = 0, broken_ = 0;
};

int RunVerify(const VerifyOptions& opt) {
  if (opt.all == !opt.session.empty()) {
    std::cerr << "reins audit verify: give a SESSION or --all\n";
    return 2;
  }
  // Opening through the audit source gives its errors (no log, a bad
  // configuration); the chains are then read on connections of their own.
  auto store = OpenAuditLog(opt.source);
  if (!store.ok()) {
    std::cerr << "reins audit verify: " << store.status().message() << '\n';
    // A file that is there but cannot be read (damaged, not SQLite) fails
    // the verification; only a log that is missing is bad input.
    Status::Code code = store.status().code();
    return code == Status::Code::kNotFound || code == Status::Code::kInvalidArgument ? 2 : 1;
  }
  store->reset();
  std::string path = *AuditLogPath(opt.source);
  VerifyPrinter out(opt.source.json);
  if (!opt.all) {
    auto report = VerifySqliteSession(path, opt.session);
    if (!report.ok()) {
      std::cerr << "reins audit verify: " << report.status().message() << '\n';
      return report.status().code() == Status::Code::kNotFound ? 2 : 1;
    }
    out.Add(*report);
    return out.Finish(true);
  }
  int threads = opt.threads > 0
                    ? opt.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  Status st = VerifySqliteLog(path, threads, [&](const VerifyReport& r) { out.Add(r); });
  int status = out.Finish(st.ok());
  if (!st.ok()) std::cerr << "reins audit verify: " << st.message() << '\n';
  return status;
}

}  // namespace

void AddAuditVerifyCommand(CLI::App& audit, int* exit_code) {
  auto opt = std::make_shared<VerifyOptions>();
  CLI::App* cmd = audit.add_subcommand(
      "verify", "Recompute the hash chains; exit 1 when a record does not verify");
  cmd->add_option("session", opt->session, "The session to verify");
  cmd->add_flag("--all", opt->all, "Verify every session in the log");
  cmd->add_option("--threads", opt->threads, "Sessions verified at once (default: one per core)")
      ->check(CLI::Range(1, 64));
  AddAuditSourceOptions(cmd, &opt->source);
  cmd->callback([opt, exit_code] { *exit_code = RunVerify(*opt); });
}

}  // namespace reins
