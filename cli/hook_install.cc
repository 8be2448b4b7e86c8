#include "cli/hook_install.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace reins {

namespace {

namespace fs = std::filesystem;

// The words of a shell command line, undoing the quoting ShellJoin adds
// (enough to recognise reins's own entries; not a full shell parser).
std::vector<std::string> ShellWords(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

bool IsReinsHook(const Json& hook, const std::string& harness) {
  if (!hook.is_object() || !hook.contains("command") || !hook["command"].is_string()) return false;
  std::vector<std::string> w = ShellWords(hook["command"].get<std::string>());
  return w.size() >= 3 && fs::path(w[0]).filename() == "reins" && w[1] == "hook" && w[2] == harness;
}

Status CheckShape(const Json& settings) {
  if (!settings.is_object()) return Status::InvalidArgument("the settings are not a JSON object");
  if (settings.contains("hooks") && !settings["hooks"].is_object()) {
    return Status::InvalidArgument("'hooks' is not an object");
  }
  return Status::OK();
}

Result<Json> ReadSettings(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Json::object();
  std::ifstream in(path);
  if (!in) return Status::IOError(path + ": cannot be read; left unchanged");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  // Gemini CLI allows comments in its settings; they do not survive a rewrite.
  Json j = Json::parse(text, nullptr, false, /*ignore_comments=*/true);
  if (j.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON; left unchanged");
  return j;
}

// Replaces the file atomically, through a symlink to the file it names
// (dotfile managers link settings files), keeping its permissions (Claude
// Code's settings may hold API keys).
Status WriteSettings(const std::string& path, const Json& settings) {
  std::error_code ec, no_file;
  fs::path target = path;
  if (fs::is_symlink(path, no_file)) {
    target = fs::canonical(path, ec);
    if (ec) return Status::IOError(path + ": cannot follow the link: " + ec.message());
  }
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  std::optional<fs::perms> mode;
  if (fs::exists(target, ec)) mode = fs::status(target, ec).permissions();
  std::string tmp = target.string() + ".reins-tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << settings.dump(2) << '\n';
    if (!out.flush()) return Status::IOError("cannot write " + tmp);
  }
  if (mode) fs::permissions(tmp, *mode, ec);
  if (ec || std::rename(tmp.c_str(), target.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError("cannot replace " + target.string());
  }
  return Status::OK();
}

}  // namespace

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& a : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_./:=@%+,") == std::string::npos;
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (char c : a) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

Result<Json> WithoutReinsHooks(Json settings, const std::string& harness, int* removed) {
  REINS_RETURN_IF_ERROR(CheckShape(settings));
  *removed = 0;
  if (!settings.contains("hooks")) return settings;
  Json& hooks = settings["hooks"];
  for (auto event = hooks.begin(); event != hooks.end();) {
    if (!event->is_array()) {
      ++event;
      continue;
    }
    Json groups = Json::array();
    for (Json group : *event) {
      if (group.is_object() && group.contains("hooks") && group["hooks"].is_array()) {
        Json kept = Json::array();
        for (const Json& h : group["hooks"]) {
          if (IsReinsHook(h, harness)) {
            ++*removed;
          } else {
            kept.push_back(h);
          }
        }
        if (kept.empty() && !group["hooks"].empty()) continue;  // only reins's: drop the group
        group["hooks"] = std::move(kept);
      }
      groups.push_back(std::move(group));
    }
    if (groups.empty() && !event->empty()) {
      event = hooks.erase(event);
      continue;
    }
    *event = std::move(groups);
    ++event;
  }
  if (hooks.empty()) settings.erase("hooks");
  return settings;
}

Result<Json> WithReinsHooks(Json settings, const HookInstall& spec) {
  int removed = 0;
  auto clean = WithoutReinsHooks(std::move(settings), spec.harness, &removed);
  if (!clean.ok()) return clean.status();
  Json out = std::move(clean).value();
  Json hook = {{"type", "command"}, {"command", ShellJoin(spec.command)}};
  if (spec.timeout) hook["timeout"] = *spec.timeout;
  for (const HookEvent& e : spec.events) {
    Json group = Json::object();
    if (!e.matcher.empty()) group["matcher"] = e.matcher;
    group["hooks"] = Json::array({hook});
    Json& list = out["hooks"][e.name];
    if (!list.is_array()) {
      if (!list.is_null()) return Status::InvalidArgument("'hooks." + e.name + "' is not a list");
      list = Json::array();
    }
    list.push_back(std::move(group));
  }
  for (const auto& [key, value] : spec.extra.items()) {
    if (out.contains(key) && out[key].is_object() && value.is_object()) {
      out[key].merge_patch(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

Result<std::string> InstallHooks(const HookInstall& spec) {
  auto current = ReadSettings(spec.path);
  if (!current.ok()) return current.status();
  auto updated = WithReinsHooks(*current, spec);
  if (!updated.ok()) return updated.status().WithPrefix(spec.path);
  REINS_RETURN_IF_ERROR(WriteSettings(spec.path, *updated));
  return "installed reins hooks for " + std::to_string(spec.events.size()) + " events in " +
         spec.path + ": " + ShellJoin(spec.command);
}

Result<std::string> UninstallHooks(const std::string& path, const std::string& harness) {
  if (!fs::exists(path)) return "no reins hooks: " + path + " does not exist";
  auto current = ReadSettings(path);
  if (!current.ok()) return current.status();
  int removed = 0;
  auto updated = WithoutReinsHooks(*current, harness, &removed);
  if (!updated.ok()) return updated.status().WithPrefix(path);
  if (removed == 0) return "no reins hooks in " + path;
  if (updated->empty()) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) return Status::IOError("cannot remove " + path + ": " + ec.message());
    return "removed " + std::to_string(removed) + " reins hooks; " + path +
           " held nothing else and is deleted";
  }
  REINS_RETURN_IF_ERROR(WriteSettings(path, *updated));
  return "removed " + std::to_string(removed) + " reins hooks from " + path;
}

}  // namespace reins
