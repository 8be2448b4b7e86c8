// reins approvals / approve / deny: answer what waits for a person, through
// a running server, with an approver token.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/server_client.h"
#include "cli/table.h"
#include "engine/clock.h"
#include "engine/json_fields.h"
#include "server/http_client.h"
#include "server/settings.h"

namespace reins {

namespace {

struct ApprovalsOptions : ClientOptions {
  std::string status = "pending";
  bool follow = false, json = false;
};

struct ResolveOptions : ClientOptions {
  std::string id, grant, note;
  bool approved = true;
};

Result<std::string> Token(const ClientOptions& o) { return ClientToken(o, "approver.token"); }

std::string Since(const std::string& rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  if (!t.ok()) return "";
  int64_t s = std::max<int64_t>(0, (SystemClock().Now() - *t) / 1000000);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s / 60 % 60) + "m";
}

std::string Join(const Json& list) {
  std::string out;
  for (const Json& p : list) out += (out.empty() ? "" : ",") + p.get<std::string>();
  return out;
}

// Prints a request's failure and returns the exit status.
int Failed(const char* command, const Result<HttpResult>& r) {
  if (!r.ok()) {
    std::cerr << command << ": " << r.status().message() << '\n';
    return 1;
  }
  Json j = r->json();
  std::string message =
      j.is_object() && j.contains("error") ? JsonString(j["error"], "message") : r->body;
  std::cerr << command << ": " << message << " (HTTP " << r->status << ")\n";
  return r->status == 400 || r->status == 404 || r->status == 409 ? 2 : 1;
}

int RunApprovals(const ApprovalsOptions& opt) {
  auto token = Token(opt);
  if (!token.ok()) {
    std::cerr << "reins approvals: " << token.status().message() << '\n';
    return 2;
  }
  HttpClient client(ServerAddress(opt));
  std::set<std::string> shown;
  bool color = UseColor(1);
  while (true) {
    auto r =
        client.Request("GET", "/v1/approvals?status=" + opt.status + "&limit=1000", "", *token);
    if (!r.ok() || r->status != 200) return Failed("reins approvals", r);
    Json list = r->json()["approvals"];
    if (opt.json && !opt.follow) {
      std::cout << list.dump(2) << '\n';
      return 0;
    }
    std::set<std::string> now;
    Table table({"ID", "SESSION", "POLICY", "ACTION", "REASON", "WAITING"});
    for (const Json& a : list) {
      std::string id = a["id"];
      now.insert(id);
      if (opt.follow && shown.count(id)) continue;
      if (opt.json) {
        std::cout << a.dump() << '\n';
        continue;
      }
      table.AddRow({id, a["session"], Join(a["policies"]), a.value("action", a.value("tool", "")),
                    a["reason"], Since(a.value("requested_at", ""))});
    }
    if (!opt.json) {
      if (!opt.follow || !list.empty()) {
        if (!opt.follow && list.empty()) {
          std::cout << "no " << opt.status << " approvals\n";
        } else if (!opt.follow || std::any_of(list.begin(), list.end(), [&](const Json& a) {
                     return !shown.count(a["id"].get<std::string>());
                   })) {
          table.Print(std::cout, color, 60);
        }
      }
    }
    if (opt.follow) {
      for (const std::string& id : shown) {
        if (!now.count(id)) std::cout << "resolved " << id << '\n';
      }
    }
    std::cout.flush();
    if (!opt.follow) return 0;
    shown = std::move(now);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int RunResolve(const ResolveOptions& opt) {
  const char* command = opt.approved ? "reins approve" : "reins deny";
  auto token = Token(opt);
  if (!token.ok()) {
    std::cerr << command << ": " << token.status().message() << '\n';
    return 2;
  }
  Json body = {{"approved", opt.approved}};
  if (!opt.note.empty()) body["note"] = opt.note;
  if (!opt.grant.empty()) body["grant"] = opt.grant;
  HttpClient client(ServerAddress(opt));
  std::string id = PathSegment(opt.id);
  auto r = client.Request("POST", "/v1/approvals/" + id, body.dump(), *token);
  if (!r.ok() || r->status != 200) return Failed(command, r);
  Json d = r->json()["decision"];
  std::cout << (opt.approved ? "approved " : "denied ") << opt.id << ": " << d.value("reason", "")
            << '\n';
  return 0;
}

void AddClientOptions(CLI::App* cmd, ClientOptions* o) {
  cmd->add_option("--server", o->server,
                  "Server address: http://HOST:PORT or unix:/PATH (default $REINS_SERVER, "
                  "else http://127.0.0.1:6767)");
  cmd->add_option("--token-file", o->token_file,
                  "File holding an approver token (default $REINS_TOKEN_FILE, else "
                  "~/.reins/approver.token; $REINS_TOKEN wins over both)");
}

}  // namespace

void AddApprovalsCommands(CLI::App& app, int* exit_code) {
  auto list = std::make_shared<ApprovalsOptions>();
  CLI::App* cmd = app.add_subcommand("approvals", "List approvals waiting for a person");
  AddClientOptions(cmd, list.get());
  cmd->add_option("--status", list->status, "pending (default), approved, denied, expired or all");
  cmd->add_flag("--follow,-f", list->follow, "Keep watching; print new asks as they arrive");
  cmd->add_flag("--json", list->json, "JSON output (one object per line with --follow)");
  cmd->callback([list, exit_code] { *exit_code = RunApprovals(*list); });

  for (bool approved : {true, false}) {
    auto opt = std::make_shared<ResolveOptions>();
    opt->approved = approved;
    CLI::App* r = app.add_subcommand(approved ? "approve" : "deny",
                                     approved ? "Approve a paused action" : "Deny a paused action");
    AddClientOptions(r, opt.get());
    r->add_option("id", opt->id, "Approval id (from reins approvals)")->required();
    r->add_option("--note", opt->note, "A note recorded with the answer");
    if (approved) {
      r->add_option("--grant", opt->grant,
                    "Also let this policy's asks about the same kind of action pass: once "
                    "(default), session, or a duration such as 15m");
    }
    r->callback([opt, exit_code] { *exit_code = RunResolve(*opt); });
  }
}

}  // namespace reins
