// reins policies: the policy registry with parameter schemas.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/setup.h"
#include "cli/table.h"

namespace reins {

namespace {

struct PoliciesOptions {
  std::string name;
  bool json = false;
};

void PrintType(const PolicyType& t, std::ostream& out, bool color) {
  out << (color ? "\033[1m" : "") << t.name << (color ? "\033[0m" : "") << "\n  " << t.description
      << "\n  events: ";
  std::string events;
  for (const Json& e : t.events.ToJson())
    events += (events.empty() ? "" : ", ") + e.get<std::string>();
  out << events << "\n";
  if (t.params.empty()) {
    out << "  parameters: none\n\n";
    return;
  }
  Table params({"  parameter", "type", "default", "description"});
  for (const ParamSpec& p : t.params) {
    std::string def = p.required                  ? "(required)"
                      : p.default_value.is_null() ? "-"
                                                  : p.default_value.dump();
    std::string type(ParamTypeName(p.type));
    if (!p.choices.empty()) {
      type += " (";
      for (size_t i = 0; i < p.choices.size(); ++i) type += (i ? "|" : "") + p.choices[i];
      type += ")";
    }
    params.AddRow({"  " + p.name, type, def, p.description});
  }
  params.Print(out, false, 100);
  out << "\n";
}

int RunPolicies(const PoliciesOptions& opt) {
  const PolicyRegistry& registry = DefaultRegistry();
  std::vector<const PolicyType*> types;
  if (!opt.name.empty()) {
    const PolicyType* t = registry.Find(opt.name);
    if (!t) {
      std::cerr << "reins policies: unknown policy '" << opt.name << "'\n";
      return 2;
    }
    types.push_back(t);
  } else {
    types = registry.List();
  }
  if (opt.json) {
    Json out = Json::array();
    for (const PolicyType* t : types) out.push_back(t->ToJson());
    std::cout << (opt.name.empty() ? out : out[0]).dump(2) << '\n';
    return 0;
  }
  bool color = UseColor(1);
  for (const PolicyType* t : types) PrintType(*t, std::cout, color);
  return 0;
}

}  // namespace

void AddPoliciesCommand(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<PoliciesOptions>();
  CLI::App* cmd = app.add_subcommand("policies", "List policy types and their parameters");
  cmd->add_option("name", opt->name, "Show one policy (name or reference handler path)");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([opt, exit_code] { *exit_code = RunPolicies(*opt); });
}

}  // namespace reins
