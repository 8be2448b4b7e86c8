// Reading policy test files (policy_test.h): every problem is reported with
// the file, line and column it is at, and loading goes on after one so that
// a single run names them all.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "cli/policy_test.h"
#include "engine/yaml_json.h"

namespace reins {

namespace fs = std::filesystem;

namespace {

const char* kVerdicts = "allow, deny, ask or modify";

// The configuration files and clock a case starts from: the file's, then
// its own.
struct Defaults {
  std::string server, agent, session;
  TimeUs clock = kDefaultTestClock;
};

class FileParser {
 public:
  FileParser(std::string path, PolicyTestLoader::ConfigCache* configs)
      : path_(std::move(path)), dir_(fs::path(path_).parent_path()), configs_(configs) {}

  std::vector<PolicyTestCase> Parse() {
    YAML::Node root;
    try {
      std::ifstream in(path_, std::ios::binary);
      if (!in) {
        errors_.push_back(path_ + ": cannot read the file");
        return {};
      }
      root = YAML::Load(in);
    } catch (const YAML::Exception& e) {
      Error(e.mark, e.msg);
      return {};
    }
    std::vector<PolicyTestCase> cases;
    try {
      if (!root.IsMap()) {
        Error(root.Mark(), "a test file is a mapping with `cases:` (docs/cli.md, reins test)");
        return {};
      }
      CheckKeys(root, {"server", "agent", "session", "clock", "cases"}, "the test file");
      Defaults defaults;
      ConfigFiles(root, &defaults);
      if (root["clock"]) Clock(root["clock"], &defaults.clock);
      const YAML::Node list = root["cases"];
      if (!list || !list.IsSequence() || list.size() == 0) {
        Error(list ? list.Mark() : root.Mark(), "`cases:` must be a non-empty list of cases");
        return {};
      }
      std::set<std::string> names;
      for (const YAML::Node& node : list) {
        if (node.IsMap() && node["name"] && node["name"].IsScalar() &&
            !names.insert(node["name"].Scalar()).second) {
          Error(node["name"].Mark(), "two cases are named '" + node["name"].Scalar() + "'");
        }
        if (auto c = Case(node, defaults)) cases.push_back(std::move(*c));
      }
    } catch (const YAML::Exception& e) {
      Error(e.mark, e.msg);
    }
    return cases;
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  void Error(const YAML::Mark& m, const std::string& message) {
    if (m.is_null()) {
      errors_.push_back(path_ + ": " + message);
    } else {
      errors_.push_back(path_ + ":" + std::to_string(m.line + 1) + ":" +
                        std::to_string(m.column + 1) + ": " + message);
    }
  }

  std::string Where(const YAML::Node& n) const {
    return path_ + ":" + std::to_string(n.Mark().line + 1);
  }

  void CheckKeys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                 const std::string& what) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      bool known = false;
      std::string list;
      for (const char* a : allowed) {
        known = known || key == a;
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      if (!known) {
        Error(it->first.Mark(), "unknown key '" + key + "' in " + what + " (" + list + ")");
      }
    }
  }

  std::optional<std::string> Scalar(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) return n.Scalar();
    Error(n.Mark(), what + ": expected a string");
    return std::nullopt;
  }

  void Clock(const YAML::Node& n, TimeUs* out) {
    auto text = Scalar(n, "clock");
    if (!text) return;
    auto t = ParseRfc3339(*text);
    if (!t.ok()) {
      Error(n.Mark(), "clock: " + t.status().message());
    } else {
      *out = *t;
    }
  }

  // A file named relative to the test file; nullopt (and an error) when
  // there is none.
  std::optional<std::string> FilePath(const YAML::Node& n, const std::string& what) {
    auto name = Scalar(n, what);
    if (!name) return std::nullopt;
    fs::path p(*name);
    std::string path = (p.is_absolute() ? p : dir_ / p).lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      Error(n.Mark(), what + ": no such file: " + path);
      return std::nullopt;
    }
    return path;
  }

  void ConfigFiles(const YAML::Node& map, Defaults* d) {
    for (auto [key, field] : {std::pair{"server", &d->server}, std::pair{"agent", &d->agent},
                              std::pair{"session", &d->session}}) {
      const YAML::Node n = map[key];
      if (!n) continue;
      // Empty (`agent:` or `agent: ""`): a case drops the file's layer.
      if (n.IsNull() || (n.IsScalar() && n.Scalar().empty())) {
        field->clear();
      } else if (auto p = FilePath(n, key)) {
        *field = *p;
      }
    }
  }

  std::shared_ptr<const LoadedConfig> Config(const Defaults& d, const YAML::Node& at) {
    std::string key =
        AbsolutePath(d.server) + '\n' + AbsolutePath(d.agent) + '\n' + AbsolutePath(d.session);
    auto it = configs_->find(key);
    if (it == configs_->end()) {
      std::ostringstream err;
      auto config = LoadLayers(d.server, d.agent, d.session, err);
      std::shared_ptr<const LoadedConfig> loaded;
      if (config) loaded = std::make_shared<const LoadedConfig>(std::move(*config));
      it = configs_->emplace(key, loaded).first;
      if (!loaded) {
        Error(at.Mark(), "the configuration does not load:");
        std::istringstream lines(err.str());
        for (std::string line; std::getline(lines, line);) errors_.push_back("  " + line);
      }
      reported_.insert(key);
    } else if (!it->second && reported_.insert(key).second) {
      Error(at.Mark(), "the configuration does not load (its errors are above)");
    }
    return it->second;
  }

  std::optional<Verdict> VerdictOf(const YAML::Node& n) {
    auto name = Scalar(n, "verdict");
    if (!name) return std::nullopt;
    auto v = VerdictFromName(*name);
    if (!v) Error(n.Mark(), "unknown verdict '" + *name + "' (expected " + kVerdicts + ")");
    return v;
  }

  std::optional<ExpectedDecision> Expectation(const YAML::Node& n) {
    ExpectedDecision e;
    e.where = Where(n);
    if (n.IsScalar()) {
      auto v = VerdictOf(n);
      if (!v) return std::nullopt;
      e.verdict = *v;
      return e;
    }
    if (!n.IsMap()) {
      Error(n.Mark(), std::string("an expectation is a verdict (") + kVerdicts +
                          ") or a mapping of verdict, reason, policy and patch");
      return std::nullopt;
    }
    size_t before = errors_.size();
    CheckKeys(n, {"verdict", "reason", "policy", "patch"}, "an expectation");
    if (!n["verdict"]) {
      Error(n.Mark(), "an expectation needs `verdict:` (" + std::string(kVerdicts) + ")");
    } else if (auto v = VerdictOf(n["verdict"])) {
      e.verdict = *v;
    }
    if (n["reason"]) e.reason = Scalar(n["reason"], "reason").value_or("");
    if (const YAML::Node p = n["policy"]) {
      if (p.IsSequence()) {
        for (const YAML::Node& item : p) {
          if (auto s = Scalar(item, "policy")) e.policies.push_back(*s);
        }
      } else if (auto s = Scalar(p, "policy")) {
        e.policies.push_back(*s);
      }
    }
    if (const YAML::Node p = n["patch"]) {
      auto patch = YamlToJson(p);
      if (!patch.ok() || !patch->is_object()) {
        Error(p.Mark(), "patch: expected a mapping (a JSON merge patch)");
      } else {
        e.patch = *patch;
      }
    }
    if (errors_.size() != before) return std::nullopt;
    return e;
  }

  std::string Label(const Json& event, const std::string& head) {
    std::string summary = EventSummary(event);
    return head + " (" + event.value("type", "") + (summary.empty() ? "" : " " + summary) + ")";
  }

  // Inline events: a list of event mappings, each with an optional `expect`.
  void InlineEvents(const YAML::Node& list, const std::string& what, const std::string& session,
                    std::vector<TestEvent>* out) {
    bool given = what == "given";
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node n = list[i];
      std::string head = (given ? "given event " : "event ") + std::to_string(i + 1);
      if (!n.IsMap()) {
        Error(n.Mark(), head + ": expected a mapping (a canonical event)");
        continue;
      }
      auto json = YamlToJson(n);
      if (!json.ok()) {
        Error(n.Mark(), head + ": " + json.status().message());
        continue;
      }
      std::optional<ExpectedDecision> expect;
      if (const YAML::Node e = n["expect"]) {
        json->erase("expect");
        if (given) {
          Error(e.Mark(), "given events are not checked; `expect:` belongs on `events:`");
          continue;
        }
        expect = Expectation(e);
        if (!expect) continue;
      }
      if (!json->contains("session")) (*json)["session"] = session;
      std::string label = Label(*json, head);
      auto event = Event::FromJson(std::move(json).value());
      if (!event.ok()) {
        Error(n.Mark(), head + ": " + event.status().message());
        continue;
      }
      if (expect) expect->where = Where(n);
      out->push_back({std::move(event).value(), label, Where(n), std::move(expect)});
    }
  }

  // An events file, read as `reins eval --events` reads it; `lines` maps
  // each event's line to its index in `out`.
  void FileEvents(const YAML::Node& n, const std::string& what, const EventLimits& limits,
                  std::vector<TestEvent>* out, std::map<int, size_t>* lines) {
    auto path = FilePath(n, what);
    if (!path) return;
    std::ifstream in(*path, std::ios::binary);
    size_t before = errors_.size();
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string at = *path + ":" + std::to_string(line_no);
      auto event = Event::Parse(line, limits);
      if (!event.ok()) {
        Error(n.Mark(), what + ": " + at + ": " + event.status().message());
        continue;
      }
      std::string head = (what == "given" ? "given event at " : "event at ") + at;
      std::string label = Label(event->json(), head);
      if (lines) (*lines)[line_no] = out->size();
      out->push_back({std::move(event).value(), label, at, std::nullopt});
    }
    if (out->empty() && errors_.size() == before)
      Error(n.Mark(), what + ": " + *path + " holds no events");
  }

  void Events(const YAML::Node& n, const std::string& what, const std::string& session,
              const EventLimits& limits, std::vector<TestEvent>* out,
              std::map<int, size_t>* lines) {
    if (n.IsSequence()) {
      InlineEvents(n, what, session, out);
    } else if (n.IsScalar()) {
      FileEvents(n, what, limits, out, lines);
    } else {
      Error(n.Mark(), what + ": expected a list of events or the name of a JSON-lines file");
    }
  }

  void After(const YAML::Node& n, const std::string& session, std::vector<StateCheck>* out) {
    if (n.IsSequence()) {
      for (const YAML::Node& item : n) After(item, session, out);
      return;
    }
    if (!n.IsMap()) {
      Error(n.Mark(), "after: expected a mapping of session state fields (or a list of them)");
      return;
    }
    auto fields = YamlToJson(n);
    if (!fields.ok()) {
      Error(n.Mark(), "after: " + fields.status().message());
      return;
    }
    StateCheck check{session, *fields, Where(n)};
    if (fields->contains("session")) {
      if (!(*fields)["session"].is_string()) {
        Error(n["session"].Mark(), "after: session: expected a session id");
        return;
      }
      check.session = (*fields)["session"];
    }
    out->push_back(std::move(check));
  }

  std::optional<PolicyTestCase> Case(const YAML::Node& n, Defaults d) {
    if (!n.IsMap()) {
      Error(n.Mark(), "a case is a mapping with `name:` and `events:`");
      return std::nullopt;
    }
    size_t before = errors_.size();
    CheckKeys(n,
              {"name", "server", "agent", "session", "session_id", "clock", "given", "events",
               "expect", "otherwise", "after"},
              "a case");
    PolicyTestCase c;
    c.file = path_;
    c.line = n.Mark().line + 1;
    if (!n["name"]) {
      Error(n.Mark(), "a case needs `name:`");
    } else {
      c.name = Scalar(n["name"], "name").value_or("");
    }
    ConfigFiles(n, &d);
    if (n["clock"]) Clock(n["clock"], &d.clock);
    c.clock = d.clock;
    std::string session = "test";
    if (n["session_id"]) session = Scalar(n["session_id"], "session_id").value_or(session);
    if (errors_.size() == before) c.config = Config(d, n);
    EventLimits limits = c.config ? c.config->settings.limits : EventLimits();

    if (n["given"]) Events(n["given"], "given", session, limits, &c.given, nullptr);
    std::map<int, size_t> lines;
    size_t before_events = errors_.size();
    if (!n["events"]) {
      Error(n.Mark(), "a case needs `events:` (a list of events or a JSON-lines file)");
    } else {
      Events(n["events"], "events", session, limits, &c.events, &lines);
    }
    if (const YAML::Node e = n["expect"]; e && errors_.size() == before_events) {
      if (!n["events"].IsScalar()) {
        Error(e.Mark(),
              "a case's `expect:` goes with an events file; inline events carry their own");
      } else if (!e.IsMap()) {
        Error(e.Mark(), "expect: expected a mapping of events-file line numbers to expectations");
      } else {
        for (auto it = e.begin(); it != e.end(); ++it) {
          std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
          int line = 0;
          auto found = lines.end();
          if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
              key.size() < 9) {
            line = std::stoi(key);
            found = lines.find(line);
          }
          if (found == lines.end()) {
            Error(it->first.Mark(),
                  "expect: '" + key + "' is not the line of an event in " + n["events"].Scalar());
            continue;
          }
          if (auto x = Expectation(it->second)) c.events[found->second].expect = std::move(x);
        }
      }
    }
    if (const YAML::Node o = n["otherwise"]) c.otherwise = Expectation(o);
    if (const YAML::Node a = n["after"]) After(a, session, &c.after);
    if (errors_.size() != before) return std::nullopt;
    return c;
  }

  std::string path_;
  fs::path dir_;
  PolicyTestLoader::ConfigCache* configs_;
  std::set<std::string> reported_;  // configurations whose failure this file has reported
  std::vector<std::string> errors_;
};

}  // namespace

Result<std::vector<PolicyTestCase>> PolicyTestLoader::Load(const std::string& path) {
  FileParser parser(path, &configs_);
  std::vector<PolicyTestCase> cases = parser.Parse();
  if (!parser.errors().empty()) {
    std::string message;
    for (const std::string& e : parser.errors()) message += (message.empty() ? "" : "\n") + e;
    return Status::InvalidArgument(message);
  }
  return cases;
}

}  // namespace reins
