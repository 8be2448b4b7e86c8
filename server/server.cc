#include "server/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "engine/engine.h"
#include "harness-adapters/decision_client.h"
#include "harness-adapters/llm_proxy.h"
#include "harness-adapters/proxy_config.h"
#include "server/api.h"
#include "server/hub.h"
#include "server/server_policies.h"

namespace reins {

namespace {

namespace fs = std::filesystem;

constexpr auto kSweepInterval = std::chrono::seconds(1);

Result<std::shared_ptr<const ServerConfig>> LoadConfig(const ServeOptions& o) {
  ConfigLoader loader(o.registry);
  ServerOverrides overrides = o.overrides;
  if (!o.db_path.empty()) overrides.db = o.db_path;
  RegisterServerSection(&loader, overrides);
  return LoadServerFile(loader, o.config_path);
}

void StderrLog(const std::string& line) {
  std::string stamp = FormatRfc3339(SystemClock().Now()).substr(0, 19) + "Z";
  fprintf(stderr, "%s reins: %s\n", stamp.c_str(), line.c_str());
  fflush(stderr);
}

}  // namespace

struct Server::Parts {
  ServeOptions options;
  ServerSettings settings;
  EngineSettings engine_settings;
  std::string db_path;
  SystemClock clock;
  std::unique_ptr<LogStore> store;
  std::unique_ptr<Engine> engine;
  reins::Metrics metrics;
  std::unique_ptr<Hub> hub;
  std::unique_ptr<ServerPolicies> policies;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<asio::thread_pool> pool;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<EngineDecisionClient> proxy_client;
  std::unique_ptr<LlmProxy> proxy;  // when the configuration has a proxy: section
  std::optional<ProxyOptions> proxy_options;
  std::vector<std::string> created_tokens;
  std::mutex reload_mu;
  std::atomic<bool> shut{false};

  void Log(const std::string& line) const { options.log(line); }
};

Server::Server(std::unique_ptr<Parts> parts) : p_(std::move(parts)) {}

Server::~Server() { Shutdown(std::chrono::seconds(0)); }

Result<std::unique_ptr<Server>> Server::Start(ServeOptions options) {
  if (!options.registry) return Status::InvalidArgument("no policy registry");
  if (!options.log) options.log = StderrLog;
  auto p = std::make_unique<Parts>();
  auto config = LoadConfig(options);
  if (!config.ok()) return config.status();
  p->options = options;
  p->settings = ServerSettingsOf(**config);
  p->engine_settings = (*config)->settings;
  p->db_path = LogPathOf(**config, options.db_path);
  if (p->db_path != ":memory:") {
    std::error_code ec;
    fs::create_directories(fs::path(p->db_path).parent_path(), ec);
  }
  SqliteOptions sqlite;
  sqlite.durability = p->engine_settings.durability;
  sqlite.group_commit = options.group_commit;
  sqlite.background_checkpoints = true;
  // A log another process keeps locked or whose tables are damaged stops the
  // start with an error naming the file, instead of failing every append.
  sqlite.check_on_open = true;
  auto store = OpenSqliteLogStore(p->db_path, sqlite);
  if (!store.ok()) return store.status();
  p->store = std::move(store).value();
  EngineOptions engine_options;
  engine_options.default_ask_timeout = p->engine_settings.ask_timeout;
  p->engine = std::make_unique<Engine>(p->store.get(), p->engine_settings.prices, &p->clock,
                                       engine_options);
  p->hub = std::make_unique<Hub>(&p->metrics, p->settings.max_waiters);
  p->engine->SetObserver(p->hub.get());
  p->policies = std::make_unique<ServerPolicies>(p->engine.get());
  std::vector<ConfigError> errors;
  Status installed = p->policies->Install(*config, &errors);
  if (!installed.ok()) return installed;
  ServerPolicies* policies = p->policies.get();
  p->engine->SetPolicyResolver(
      [policies](const SessionState& st) { return policies->Resolve(st); });

  p->tokens = std::make_unique<TokenStore>(p->settings.tokens, p->settings.token_file());
  auto created = p->tokens->EnsureInitialTokens(p->settings.token_dir);
  if (!created.ok()) return created.status().WithPrefix("creating the first tokens");
  p->created_tokens = std::move(created).value();

  p->pool = std::make_unique<asio::thread_pool>(p->settings.workers);
  ApiContext ctx{p->engine.get(), p->store.get(), p->policies.get(), p->hub.get(), &p->metrics,
                 p->tokens.get(), p->pool.get(),  &p->clock,         p->settings,  options.log};
  p->api = std::make_unique<Api>(std::move(ctx));
  HttpOptions http;
  http.max_body_bytes = p->settings.max_body_bytes;
  http.header_timeout = std::chrono::milliseconds(p->settings.header_timeout / 1000);
  http.idle_timeout = std::chrono::milliseconds(p->settings.idle_timeout / 1000);
  http.max_connections = p->settings.max_connections;
  Api* api = p->api.get();
  p->http = std::make_unique<HttpServer>(
      http, [api](HttpRequest& req, HttpExchange& ex) { return api->Handle(req, ex); },
      &p->metrics);
  if (!p->settings.listen.empty()) REINS_RETURN_IF_ERROR(p->http->ListenTcp(p->settings.listen));
  if (!p->settings.socket.empty()) REINS_RETURN_IF_ERROR(p->http->ListenUnix(p->settings.socket));
  if (p->settings.listen.empty() && p->settings.socket.empty()) {
    return Status::InvalidArgument("nothing to listen on: give server.listen or server.socket");
  }

  // Approvals nobody answered expire on the server's clock, so a held ask
  // ends even when the session sends nothing more.
  Parts* raw = p.get();
  asio::co_spawn(
      p->http->io(),
      [raw]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        while (!raw->http->stopping()) {
          timer.expires_after(kSweepInterval);
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec || raw->http->stopping()) break;
          auto expired = co_await OnPool(
              *raw->pool, [raw] { return raw->engine->ExpireDue(raw->clock.Now()); });
          if (!expired.ok()) raw->Log("expiring approvals failed: " + expired.status().ToString());
        }
      },
      asio::detached);
  p->http->Start(options.io_threads > 0 ? options.io_threads
                                        : std::max(1u, std::thread::hardware_concurrency()));
  // The LLM proxy over the same engine: its sessions, costs and asks are
  // the server's, approved through the same API.
  p->proxy_options = ProxySectionOf(**config);
  if (std::string warning = ClassifierWarning(**config); !warning.empty()) p->Log(warning);
  if (p->proxy_options) {
    ProxyOptions po = *p->proxy_options;
    if (po.ask_wait <= 0) po.ask_wait = p->engine_settings.ask_timeout;
    po.log = options.log;
    p->proxy_client = std::make_unique<EngineDecisionClient>(p->engine.get(), p->store.get());
    auto proxy = LlmProxy::Start(po, p->proxy_client.get(), &p->clock);
    if (!proxy.ok()) return proxy.status().WithPrefix("starting the LLM proxy (proxy:)");
    p->proxy = std::move(proxy).value();
  }
  auto server = std::unique_ptr<Server>(new Server(std::move(p)));
  if (server->p_->proxy) server->p_->Log("LLM proxy on " + server->proxy_url());
  server->p_->Log("serving " + (server->url().empty() ? "" : server->url() + " ") +
                  (server->socket_path().empty() ? "" : "unix:" + server->socket_path() + " ") +
                  "with log " + server->db_path() + "; server policies digest " +
                  server->server_policies_digest());
  return server;
}

std::string Server::url() const {
  return p_->settings.listen.empty() ? "" : "http://127.0.0.1:" + std::to_string(port());
}

int Server::port() const { return p_->http->tcp_port(); }
std::string Server::proxy_url() const { return p_->proxy ? p_->proxy->url() : ""; }
const std::string& Server::socket_path() const { return p_->settings.socket; }
const std::string& Server::db_path() const { return p_->db_path; }
const std::string& Server::token_dir() const { return p_->settings.token_dir; }
const std::vector<std::string>& Server::created_token_files() const { return p_->created_tokens; }

std::string Server::server_policies_digest() const {
  auto set = p_->policies->server_set();
  return set ? set->digest() : "";
}

Status Server::Reload() {
  std::lock_guard lock(p_->reload_mu);
  auto config = LoadConfig(p_->options);
  Status st = config.status();
  if (st.ok()) {
    ServerSettings next = ServerSettingsOf(**config);
    const EngineSettings& e = (*config)->settings;
    std::string restart;
    if (next.listen != p_->settings.listen || next.socket != p_->settings.socket) {
      restart += " listen/socket";
    }
    if (p_->options.db_path.empty() && !e.db_path.empty() && e.db_path != p_->db_path) {
      restart += " engine.db";
    }
    if (e.durability != p_->engine_settings.durability) restart += " engine.durability";
    auto proxy = ProxySectionOf(**config);
    if (proxy.has_value() != p_->proxy_options.has_value() ||
        (proxy && (proxy->listen != p_->proxy_options->listen ||
                   proxy->upstreams != p_->proxy_options->upstreams))) {
      restart += " proxy";
    }
    if (!restart.empty()) p_->Log("reload: a restart is needed to change" + restart);
    std::vector<ConfigError> errors;
    st = p_->policies->Install(*config, &errors);
    if (st.ok()) st = p_->tokens->SetConfigured(next.tokens);
  }
  p_->metrics.Reload(st.ok());
  if (!st.ok()) {
    p_->Log("reload failed; keeping the running configuration: " + st.message());
    return st;
  }
  p_->Log("reloaded " + (p_->options.config_path.empty() ? "defaults" : p_->options.config_path) +
          "; server policies digest " + server_policies_digest());
  return Status::OK();
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  if (p_->shut.exchange(true)) return;
  p_->http->StopAccepting();
  if (p_->proxy) p_->proxy->Stop(grace);  // model calls in flight finish and are recorded
  p_->hub->NotifyAll();                   // held asks, long polls and streams answer now
  p_->http->Shutdown(grace);
  p_->pool->join();  // engine work in flight commits
  p_->Log("stopped");
}

int Server::RunUntilSignal() {
  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> arm = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        (void)Reload();
        arm();
      } else {
        p_->Log(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                "; shutting down");
        signals_io.stop();
      }
    });
  };
  arm();
  signals_io.run();
  Shutdown();
  return 0;
}

}  // namespace reins
