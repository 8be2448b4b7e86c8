// `reins proxy`: the LLM proxy (harness-adapters/llm_proxy.h) over the log
// and policies of a server configuration, until SIGINT or SIGTERM. Its
// settings come from the configuration's proxy: and llm: sections
// (harness-adapters/proxy_config.h); flags override them.
// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/embedded_engine.h"
#include "harness-adapters/llm_proxy.h"
#include "harness-adapters/proxy_config.h"

namespace reins {

namespace {

// Empty (or 0) when not given: the configuration's proxy: section decides.
struct ProxyFlags {
  std::string config, db, listen, ca_file, ask_wait, user;
  std::vector<std::string> upstreams;
  int threads = 0;
};

int RunProxy(const ProxyFlags& flags) {
  auto fail = [](const std::string& message) {
    std::cerr << "reins proxy: " << message << '\n';
    return 2;
  };
  SqliteOptions sqlite;
  sqlite.background_checkpoints = true;
  auto embedded = EmbeddedEngine::Open(flags.config, flags.db, sqlite, EngineOptions());
  if (!embedded.ok()) return fail(embedded.status().message());
  EmbeddedEngine& e = **embedded;

  ProxyOptions options = ProxyOptionsOf(*e.config);
  if (!flags.listen.empty()) options.listen = flags.listen;
  if (!flags.ca_file.empty()) options.ca_file = flags.ca_file;
  if (flags.threads > 0) options.threads = flags.threads;
  if (!flags.user.empty()) options.user = flags.user;
  for (const std::string& u : flags.upstreams) {
    size_t eq = u.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail("--upstream '" + u + "': expected NAME=URL, e.g. anthropic=https://...");
    }
    options.upstreams[u.substr(0, eq)] = u.substr(eq + 1);
  }
  if (!flags.ask_wait.empty()) {
    auto wait = ParseDuration(flags.ask_wait);
    if (!wait.ok() || *wait <= 0) return fail("--ask-wait: expected a duration such as 5m");
    options.ask_wait = *wait;
  }
  if (std::string warning = ClassifierWarning(*e.config); !warning.empty()) {
    std::cerr << "reins proxy: warning: " << warning << '\n';
  }

  // Signals are taken before the proxy's threads start, so they inherit the mask.
  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  auto proxy = LlmProxy::Start(options, e.client.get(), &e.clock);
  if (!proxy.ok()) return fail(proxy.status().ToString());
  std::cout << "reins proxy: listening on " << (*proxy)->url() << " with log " << e.db_path << '\n';
  for (const auto& [name, url] : options.upstreams) {
    std::cout << "  " << name << " -> " << url << '\n';
  }
  std::cout << "  Claude Code: ANTHROPIC_BASE_URL=" << (*proxy)->url() << '\n'
            << "  Codex / OpenAI SDKs: OPENAI_BASE_URL=" << (*proxy)->url() << "/v1\n"
            << "  Gemini CLI: GOOGLE_GEMINI_BASE_URL=" << (*proxy)->url() << '\n'
            << std::flush;
  signals.async_wait([&](const boost::system::error_code&, int) { signals_io.stop(); });
  signals_io.run();
  (*proxy)->Stop();
  std::cout << "reins proxy: stopped\n";
  return 0;
}

}  // namespace

void AddProxyCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ProxyFlags>();
  CLI::App* cmd = app.add_subcommand(
      "proxy", "Govern model calls: a proxy for the Anthropic, OpenAI and Gemini APIs");
  cmd->add_option("--config", flags->config, "Server configuration (policies, log, prices)");
  cmd->add_option("--db", flags->db, "The SQLite log (default: the configuration's)");
  cmd->add_option("--listen", flags->listen,
                  "HOST:PORT to listen on (port 0 picks one; default: proxy.listen, else "
                  "127.0.0.1:8788)");
  cmd->add_option("--upstream", flags->upstreams,
                  "NAME=URL of a provider (anthropic, openai, gemini); repeatable");
  cmd->add_option("--ca-file", flags->ca_file, "PEM certificates to trust besides the system's");
  cmd->add_option("--ask-wait", flags->ask_wait,
                  "How long an ask holds a model call (default: proxy.ask_wait, else 5m)");
  cmd->add_option("--user", flags->user, "The user of the sessions the proxy starts");
  cmd->add_option("--threads", flags->threads, "I/O threads")->check(CLI::Range(1, 64));
  cmd->callback([flags, exit_code] { *exit_code = RunProxy(*flags); });
}

}  // namespace reins
