// reins token: create API tokens and hash them for the configuration.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/setup.h"
#include "server/settings.h"
#include "server/tokens.h"

namespace reins {

namespace {

struct TokenOptions {
  std::string role, name, config, token_dir;
};

// The token directory: --token-dir, the configuration's server.token_dir,
// else ~/.reins.
Result<std::string> TokenDir(const TokenOptions& opt) {
  if (!opt.token_dir.empty()) {
    return std::filesystem::absolute(opt.token_dir).lexically_normal().string();
  }
  if (opt.config.empty()) return DefaultTokenDir();
  ConfigLoader loader = DefaultConfigLoader();
  std::vector<ConfigError> errors;
  auto config = loader.LoadServer(opt.config, &errors);
  if (!config.ok()) {
    for (const ConfigError& e : errors) std::cerr << e.ToString() << '\n';
    return config.status();
  }
  return ServerSettingsOf(*config).token_dir;
}

int RunCreate(const TokenOptions& opt) {
  auto role = RoleFromName(opt.role);
  if (!role) {
    std::cerr << "reins token create: --role must be agent, approver or admin\n";
    return 2;
  }
  auto dir = TokenDir(opt);
  if (!dir.ok()) return 2;
  std::string file = *dir + "/tokens.json";
  auto token = TokenStore::Create(file, *role, opt.name);
  if (!token.ok()) {
    std::cerr << "reins token create: " << token.status().message() << '\n';
    return token.status().code() == Status::Code::kAlreadyExists ? 2 : 1;
  }
  std::cerr << "created " << opt.role << " token '" << opt.name << "' (its hash is in " << file
            << "; a running server accepts it at once). It is shown only now:\n";
  std::cout << *token << '\n';
  return 0;
}

int RunHash() {
  std::string token;
  std::getline(std::cin, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) {
    std::cerr << "reins token hash: give the token on standard input\n";
    return 2;
  }
  std::cout << HashToken(token) << '\n';
  return 0;
}

}  // namespace

void AddTokenCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<TokenOptions>();
  CLI::App* cmd = app.add_subcommand("token", "Create API tokens");
  cmd->require_subcommand(1);
  CLI::App* create = cmd->add_subcommand("create", "Create a token and print it once");
  create->add_option("--role", opt->role, "agent, approver or admin")->required();
  create->add_option("--name", opt->name, "A name for the token (shown in logs)")->required();
  create->add_option("--config", opt->config, "Server configuration (for server.token_dir)");
  create->add_option("--token-dir", opt->token_dir, "Token directory (default ~/.reins)");
  create->callback([opt, exit_code] { *exit_code = RunCreate(*opt); });
  CLI::App* hash = cmd->add_subcommand(
      "hash", "Print the SHA-256 of a token read from stdin (for server.tokens in YAML)");
  hash->callback([exit_code] { *exit_code = RunHash(); });
}

}  // namespace reins
