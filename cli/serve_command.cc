// reins serve: the HTTP server (docs/api.md).
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "cli/setup.h"
#include "server/http_server.h"
#include "server/server.h"

namespace reins {

namespace {

struct ServeCommandOptions {
  std::string config, listen, socket, db, token_dir;
  int threads = 0;
};

int RunServe(const ServeCommandOptions& opt) {
  RaiseDescriptorLimit();
  // Past a file size limit (ulimit -f) a write would kill the server with
  // SIGXFSZ; ignored, it fails with EFBIG and the append is refused as
  // "storage full" (HTTP 507) while reads go on.
  std::signal(SIGXFSZ, SIG_IGN);
  ServeOptions o;
  o.registry = &DefaultRegistry();
  o.config_path = opt.config;
  if (!opt.listen.empty()) o.overrides.listen = opt.listen;
  if (!opt.socket.empty()) o.overrides.socket = AbsolutePath(opt.socket);
  if (!opt.token_dir.empty()) o.overrides.token_dir = AbsolutePath(opt.token_dir);
  o.db_path = opt.db == ":memory:" ? opt.db : AbsolutePath(opt.db);
  o.io_threads = opt.threads;
  auto server = Server::Start(o);
  if (!server.ok()) {
    std::cerr << "reins serve: " << server.status().message() << '\n';
    return server.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  Server& s = **server;
  std::cerr << "\nreins is serving\n";
  if (!s.url().empty()) std::cerr << "  API         " << s.url() << '\n';
  if (!s.socket_path().empty()) std::cerr << "  socket      unix:" << s.socket_path() << '\n';
  std::cerr << "  session log " << s.db_path() << '\n';
  if (!s.proxy_url().empty()) {
    std::cerr << "  LLM proxy   " << s.proxy_url()
              << " (ANTHROPIC_BASE_URL, OPENAI_BASE_URL=" << s.proxy_url()
              << "/v1, GOOGLE_GEMINI_BASE_URL)\n";
  }
  if (!s.created_token_files().empty()) {
    std::cerr << "  first start: created tokens (mode 0600)\n";
    for (const std::string& f : s.created_token_files()) std::cerr << "              " << f << '\n';
  }
  std::string approver = s.token_dir() + "/approver.token";
  std::cerr << "  approve     REINS_SERVER="
            << (s.url().empty() ? "unix:" + s.socket_path() : s.url())
            << " REINS_TOKEN_FILE=" << approver << " reins approvals --follow\n"
            << "  agents      create an agent token: reins token create --role agent --name NAME"
            << (s.token_dir().empty() ? "" : " --token-dir " + s.token_dir()) << "\n"
            << "  claude code hook command: reins hook claude --server "
            << (s.url().empty() ? "unix:" + s.socket_path() : s.url())
            << " (an agent token in ~/.reins/agent.token; docs/adapters.md)\n\n";
  return s.RunUntilSignal();
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<ServeCommandOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the reins HTTP server");
  cmd->add_option("--config", opt->config, "Server configuration (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("--listen", opt->listen, "HOST:PORT to listen on (default 127.0.0.1:6767)");
  cmd->add_option("--socket", opt->socket, "Also listen on this Unix domain socket");
  cmd->add_option("--db", opt->db, "Session log (SQLite) path; overrides engine.db");
  cmd->add_option("--token-dir", opt->token_dir, "Token directory (default ~/.reins)");
  cmd->add_option("--threads", opt->threads, "I/O threads (default: one per core)");
  cmd->callback([opt, exit_code] { *exit_code = RunServe(*opt); });
}

}  // namespace reins
