#include "cli/setup.h"

#include <cstdio>
#include <cstdlib>

#include "builtins/builtins.h"
#include "scripts/lua_loader.h"

namespace reins {

const PolicyRegistry& DefaultRegistry() {
  static const PolicyRegistry* registry = [] {
    auto* r = new PolicyRegistry();
    Status st = RegisterBuiltins(r);
    if (st.ok()) st = RegisterLuaLoader(r);
    if (!st.ok()) {
      fprintf(stderr, "reins: registering policies failed: %s\n", st.ToString().c_str());
      std::abort();
    }
    return r;
  }();
  return *registry;
}

std::optional<LoadedConfig> LoadLayers(const std::string& server, const std::string& agent,
                                       const std::string& session, std::ostream& err) {
  ConfigLoader loader(&DefaultRegistry());
  std::vector<ConfigError> errors;
  LoadedConfig out;
  out.settings.prices = std::make_shared<PriceTable>(PriceTable::Builtin());
  std::optional<PolicyLayer> server_layer, agent_layer, session_layer;
  // Without a server file, an empty one: the defaults (self_protect) apply.
  auto c = server.empty() ? loader.ParseServer("", "<defaults>", ".", &errors)
                          : loader.LoadServer(server, &errors);
  if (c.ok()) {
    out.settings = c->settings;
    server_layer = std::move(c->policies);
  }
  if (!agent.empty()) {
    auto a = loader.LoadAgent(agent, &errors);
    if (a.ok()) agent_layer = std::move(a->policies);
  }
  if (!session.empty()) {
    auto s = loader.LoadSession(session, &errors);
    if (s.ok()) session_layer = std::move(s).value();
  }
  for (const ConfigError& e : errors) err << e.ToString() << '\n';
  if (!errors.empty()) return std::nullopt;
  auto set = PolicySet::Compose(session_layer ? &*session_layer : nullptr,
                                agent_layer ? &*agent_layer : nullptr,
                                server_layer ? &*server_layer : nullptr);
  if (!set.ok()) {
    err << set.status().message() << '\n';
    return std::nullopt;
  }
  out.policies = std::move(set).value();
  return out;
}

std::string EventSummary(const Json& event, size_t max) {
  auto str = [&](const Json& obj, const char* key) -> std::string {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
  };
  std::string type = str(event, "type");
  std::string out;
  if (type == "tool_call" || type == "tool_result") {
    out = str(event, "tool");
    auto input = event.find("input");
    if (input != event.end() && input->is_object()) {
      std::string detail;
      for (const char* key : {"command", "cmd", "file_path", "path", "url", "pattern"}) {
        detail = str(*input, key);
        if (!detail.empty()) break;
      }
      if (detail.empty() && !input->empty()) detail = input->dump();
      if (!detail.empty()) out += " " + detail;
    }
  } else if (type == "llm_request" || type == "llm_response") {
    out = str(event, "model");
    std::string text = str(event, "text");
    if (!text.empty()) out += " \"" + text + "\"";
  } else if (type == "request" || type == "response") {
    out = "\"" + str(event, "text") + "\"";
  } else if (type == "session_start") {
    for (const char* key : {"user", "agent", "harness", "model"}) {
      std::string v = str(event, key);
      if (!v.empty()) out += (out.empty() ? "" : " ") + std::string(key) + "=" + v;
    }
  } else if (type == "cost") {
    auto c = event.find("cost_usd");
    if (c != event.end() && c->is_number()) {
      char buf[32];
      double usd = c->get<double>();
      snprintf(buf, sizeof buf, usd != 0 && usd < 0.01 ? "$%.4f" : "$%.2f", usd);
      out = buf;
    }
  } else if (type == "approval") {
    out = event.value("approved", false) ? "approve" : "deny";
    std::string id = str(event, "approval_id");
    if (!id.empty()) out += " " + id;
    std::string by = str(event, "by");
    if (!by.empty()) out += " by " + by;
  }
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (out.size() > max) {
    size_t cut = max - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

}  // namespace reins
