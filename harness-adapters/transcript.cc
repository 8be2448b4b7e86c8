#include "harness-adapters/transcript.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>

#include "engine/json_fields.h"

namespace reins {

namespace {

constexpr size_t kRecentKeys = 64;
constexpr int64_t kMaxReadBytes = 64 << 20;  // one read; the rest waits for the next hook

// Transcript usage to the canonical usage fields.
Json CanonicalUsage(const Json& u) {
  Json out = Json::object();
  for (const char* key : {"input_tokens", "output_tokens", "cache_read_input_tokens",
                          "cache_creation_input_tokens", "reasoning_tokens"}) {
    if (u.contains(key) && u[key].is_number_integer()) out[key] = u[key];
  }
  return out;
}

// Gemini's token counts: `input` includes the cached part; thoughts are
// billed as output.
Json GeminiUsage(const Json& t) {
  auto count = [&](const char* key) -> int64_t {
    return t.contains(key) && t[key].is_number_integer() ? t[key].get<int64_t>() : 0;
  };
  int64_t cached = count("cached");
  return {{"input_tokens", std::max<int64_t>(0, count("input") - cached)},
          {"cache_read_input_tokens", cached},
          {"output_tokens", count("output") + count("thoughts")},
          {"reasoning_tokens", count("thoughts")}};
}

// Codex's (OpenAI's) counts: input includes the cached part; output
// includes reasoning.
Json CodexUsage(const Json& u) {
  auto count = [&](const char* key) -> int64_t {
    return u.contains(key) && u[key].is_number_integer() ? u[key].get<int64_t>() : 0;
  };
  int64_t cached = count("cached_input_tokens");
  return {{"input_tokens", std::max<int64_t>(0, count("input_tokens") - cached)},
          {"cache_read_input_tokens", cached},
          {"cache_creation_input_tokens", count("cache_write_input_tokens")},
          {"output_tokens", count("output_tokens")},
          {"reasoning_tokens", count("reasoning_output_tokens")}};
}

// One model response found on a line.
struct LineCall {
  ModelCall call;
  bool finished = true;
};

// `model` carries the model named by the last Codex turn_context line.
std::optional<LineCall> ParseLine(TranscriptFormat format, std::string_view line,
                                  std::string* model) {
  if (format == TranscriptFormat::kCodex) {
    bool usage = line.find("\"token_usage_record\"") != std::string_view::npos;
    if (!usage && line.find("\"turn_context\"") == std::string_view::npos) return std::nullopt;
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("payload") || !j["payload"].is_object()) return std::nullopt;
    const Json& p = j["payload"];
    std::string type = JsonString(j, "type");
    if (type == "turn_context") {
      if (p.contains("model") && p["model"].is_string()) *model = p["model"];
      return std::nullopt;
    }
    if (type != "token_usage_record" || !p.contains("usage") || !p["usage"].is_object() ||
        !p.contains("response_id") || !p["response_id"].is_string()) {
      return std::nullopt;
    }
    return LineCall{{p["response_id"].get<std::string>(), *model, CodexUsage(p["usage"])}};
  }
  if (format == TranscriptFormat::kGemini) {
    if (line.find("\"gemini\"") == std::string_view::npos) return std::nullopt;  // cheap filter
    Json j = Json::parse(line, nullptr, false);
    if (!j.is_object() || JsonString(j, "type") != "gemini" || !j.contains("tokens") ||
        !j["tokens"].is_object() || !j.contains("id") || !j["id"].is_string()) {
      return std::nullopt;
    }
    return LineCall{{j["id"].get<std::string>(), JsonString(j, "model"), GeminiUsage(j["tokens"])}};
  }
  if (line.find("\"assistant\"") == std::string_view::npos) return std::nullopt;
  Json j = Json::parse(line, nullptr, false);
  if (!j.is_object() || JsonString(j, "type") != "assistant" || JsonBool(j, "isSidechain")) {
    return std::nullopt;
  }
  const Json& m = j.contains("message") ? j["message"] : Json();
  if (!m.is_object() || !m.contains("usage") || !m["usage"].is_object()) return std::nullopt;
  LineCall c;
  c.call = {JsonString(m, "id") + "/" + JsonString(j, "requestId"), JsonString(m, "model"),
            CanonicalUsage(m["usage"])};
  c.finished = m.contains("stop_reason") && !m["stop_reason"].is_null();
  return c;
}

struct Pending {
  int64_t first_offset = 0;
  bool finished = false;
  ModelCall call;
};

}  // namespace

Json TranscriptCursor::ToJson() const {
  Json j = {{"offset", offset}, {"recent", recent}};
  if (!model.empty()) j["model"] = model;
  return j;
}

TranscriptCursor TranscriptCursor::FromJson(const Json& j) {
  TranscriptCursor c;
  if (!j.is_object()) return c;
  if (j.contains("offset") && j["offset"].is_number_integer()) c.offset = j["offset"];
  if (j.contains("model") && j["model"].is_string()) c.model = j["model"];
  if (j.contains("recent") && j["recent"].is_array()) {
    for (const Json& k : j["recent"]) {
      if (k.is_string()) c.recent.push_back(k);
    }
  }
  return c;
}

Status ReadTranscript(const std::string& path, TranscriptFormat format, TranscriptCursor* cursor,
                      std::vector<ModelCall>* calls) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::OK();
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  if (size < cursor->offset) cursor->offset = 0;  // a new file under the same name
  int64_t length = std::min(size - cursor->offset, kMaxReadBytes);
  std::string text(static_cast<size_t>(length), '\0');
  in.seekg(cursor->offset);
  in.read(text.data(), length);
  text.resize(static_cast<size_t>(in.gcount()));

  std::string model = cursor->model;
  std::map<std::string, Pending> pending;
  std::vector<std::string> order;
  int64_t consumed = 0;  // through the last complete line
  size_t pos = 0;
  while (true) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view line(text.data() + pos, nl - pos);
    int64_t line_offset = cursor->offset + static_cast<int64_t>(pos);
    pos = nl + 1;
    consumed = static_cast<int64_t>(pos);
    std::optional<LineCall> found = ParseLine(format, line, &model);
    if (!found) continue;
    std::string key = found->call.key;
    if (std::find(cursor->recent.begin(), cursor->recent.end(), key) != cursor->recent.end()) {
      continue;
    }
    auto [it, inserted] = pending.try_emplace(key);
    if (inserted) {
      it->second.first_offset = line_offset;
      order.push_back(key);
    }
    it->second.finished = found->finished;
    it->second.call = std::move(found->call);
  }

  int64_t next = cursor->offset + consumed;
  for (const std::string& key : order) {
    Pending& p = pending[key];
    // Only the newest response can still be streaming: one followed by
    // another was cut short, and its last usage is all there will be.
    if (!p.finished && key == order.back()) {
      next = std::min(next, p.first_offset);  // read it again once it has finished
      continue;
    }
    calls->push_back(std::move(p.call));
    cursor->recent.push_back(key);
  }
  if (cursor->recent.size() > kRecentKeys) {
    cursor->recent.erase(cursor->recent.begin(),
                         cursor->recent.end() - static_cast<ptrdiff_t>(kRecentKeys));
  }
  cursor->offset = next;
  cursor->model = model;
  return Status::OK();
}

bool TranscriptHas(const std::string& path, int64_t offset, std::string_view text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return true;
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  if (size < offset) offset = 0;
  std::string tail(static_cast<size_t>(std::min(size - offset, kMaxReadBytes)), '\0');
  in.seekg(offset);
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<size_t>(in.gcount()));
  size_t end = tail.rfind('\n');
  return end != std::string::npos &&
         std::string_view(tail).substr(0, end).find(text) != std::string_view::npos;
}

}  // namespace reins
