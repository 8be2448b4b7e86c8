#include "harness-adapters/transcript.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "engine/testing.h"
#include "harness-adapters/adapter_testing.h"

using namespace reins;
using namespace reins::testing;

namespace {

std::string Line(const std::string& id, bool done, int output) {
  return Json{{"type", "assistant"},
              {"requestId", "r" + id},
              {"message",
               {{"id", id},
                {"model", "m"},
                {"stop_reason", done ? Json("end_turn") : Json()},
                {"usage", {{"input_tokens", 1}, {"output_tokens", output}, {"extra", 3}}}}}}
             .dump() +
         "\n";
}

}  // namespace

TEST_CASE("a transcript is read from where the last read stopped", "[transcript]") {
  TempDir dir;
  std::string path = dir.File("t.jsonl");
  TranscriptCursor cursor;
  std::vector<ModelCall> calls;
  REQUIRE(ReadTranscript(path, TranscriptFormat::kClaude, &cursor, &calls).ok());  // no file yet
  CHECK(calls.empty());

  std::ofstream(path) << Line("a", true, 10) << "not json\n"
                      << Line("b", true, 20)
                      << R"({"type":"assistant","message":{"id":"c")";  // a partial line
  REQUIRE(ReadTranscript(path, TranscriptFormat::kClaude, &cursor, &calls).ok());
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].key == "a/ra");
  CHECK(calls[1].usage == Json({{"input_tokens", 1}, {"output_tokens", 20}}));
  int64_t after_b = cursor.offset;

  // Read again with nothing new: nothing twice.
  calls.clear();
  REQUIRE(ReadTranscript(path, TranscriptFormat::kClaude, &cursor, &calls).ok());
  CHECK(calls.empty());
  CHECK(cursor.offset == after_b);

  // Through JSON and back, as the adapter keeps it.
  TranscriptCursor kept = TranscriptCursor::FromJson(cursor.ToJson());
  CHECK(kept.offset == cursor.offset);
  CHECK(kept.recent == cursor.recent);
  CHECK(TranscriptCursor::FromJson(Json("junk")).offset == 0);

  // A file replaced by a shorter one is read from its start.
  std::ofstream(path) << Line("z", true, 1);
  calls.clear();
  REQUIRE(ReadTranscript(path, TranscriptFormat::kClaude, &kept, &calls).ok());
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].key == "z/rz");
}

namespace {

std::string CodexTurn(const std::string& model) {
  return Json{{"type", "turn_context"}, {"payload", {{"model", model}}}}.dump() + "\n";
}

std::string CodexUsage(const std::string& id, int input, int cached, int output, int reasoning) {
  return Json{{"type", "token_usage_record"},
              {"payload",
               {{"response_id", id},
                {"usage",
                 {{"input_tokens", input},
                  {"cached_input_tokens", cached},
                  {"cache_write_input_tokens", 7},
                  {"output_tokens", output},
                  {"reasoning_output_tokens", reasoning},
                  {"total_tokens", input + output}}}}}}
             .dump() +
         "\n";
}

std::vector<ModelCall> Read(const std::string& path, TranscriptFormat format,
                            TranscriptCursor* cursor) {
  std::vector<ModelCall> calls;
  REQUIRE(ReadTranscript(path, format, cursor, &calls).ok());
  return calls;
}

}  // namespace

TEST_CASE("a Gemini transcript reports each message once, cached and thought tokens mapped",
          "[transcript]") {
  TempDir dir;
  std::string path = dir.File("chat.jsonl");
  std::string g2 = GeminiRecord("g2", 50, 0, 5, 0);
  std::ofstream(path) << R"({"sessionId":"s","kind":"main"})"
                      << "\n"
                      << R"({"id":"u1","type":"user","content":[{"text":"hi"}]})"
                      << "\n"
                      << GeminiRecord("g1", 1001, 700, 51, 9) << R"({"$set":{"lastUpdated":"t"}})"
                      << "\n"
                      << GeminiRecord("g1", 1001, 700, 51, 9)  // rewritten with its tool calls
                      << g2.substr(0, 20);                     // still being written
  TranscriptCursor cursor;
  std::vector<ModelCall> calls = Read(path, TranscriptFormat::kGemini, &cursor);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].key == "g1");
  CHECK(calls[0].model == "gemini-2.5-flash");
  CHECK(calls[0].usage == Json({{"input_tokens", 301},
                                {"cache_read_input_tokens", 700},
                                {"output_tokens", 60},
                                {"reasoning_tokens", 9}}));

  // The partial line is read once complete; g1, written a third time, is not reported again.
  std::ofstream(path, std::ios::app)
      << g2.substr(20) << GeminiRecord("g1", 1001, 700, 51, 9) << GeminiRecord("g3", 10, 20, 1, 0);
  calls = Read(path, TranscriptFormat::kGemini, &cursor);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].key == "g2");
  CHECK(calls[0].usage["input_tokens"] == 50);
  CHECK(calls[1].usage["input_tokens"] == 0);  // more cached than input: never negative
  CHECK(Read(path, TranscriptFormat::kGemini, &cursor).empty());
}

TEST_CASE("a Codex rollout reports each response once, with the model of its turn",
          "[transcript]") {
  TempDir dir;
  std::string path = dir.File("rollout.jsonl");
  std::string r3 = CodexUsage("resp_3", 10, 0, 1, 0);
  std::ofstream(path) << R"({"type":"session_meta","payload":{"id":"s"}})"
                      << "\n"
                      << CodexTurn("gpt-5") << CodexUsage("resp_1", 1200, 200, 30, 5)
                      << R"({"type":"event_msg","payload":{"type":"token_count"}})"
                      << "\n"
                      << CodexUsage("resp_1", 1200, 200, 30, 5) << CodexTurn("gpt-5-mini")
                      << CodexUsage("resp_2", 100, 0, 10, 0) << r3.substr(0, 30);
  TranscriptCursor cursor;
  std::vector<ModelCall> calls = Read(path, TranscriptFormat::kCodex, &cursor);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].key == "resp_1");
  CHECK(calls[0].model == "gpt-5");
  CHECK(calls[0].usage == Json({{"input_tokens", 1000},
                                {"cache_read_input_tokens", 200},
                                {"cache_creation_input_tokens", 7},
                                {"output_tokens", 30},
                                {"reasoning_tokens", 5}}));
  CHECK(calls[1].model == "gpt-5-mini");

  // The turn that named the model was read before: the cursor remembers it.
  std::ofstream(path, std::ios::app) << r3.substr(30) << CodexUsage("resp_2", 100, 0, 10, 0);
  calls = Read(path, TranscriptFormat::kCodex, &cursor);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].key == "resp_3");
  CHECK(calls[0].model == "gpt-5-mini");
}

TEST_CASE("TranscriptHas looks only at complete lines after the offset", "[transcript]") {
  TempDir dir;
  std::string path = dir.File("t.jsonl");
  CHECK(TranscriptHas(path, 0, "\"toolu_1\""));  // no transcript: nothing to wait for
  std::string first = R"({"id":"toolu_1"})"
                      "\n";
  std::ofstream(path) << first << R"({"id":"toolu_2"})";
  CHECK(TranscriptHas(path, 0, "\"toolu_1\""));
  CHECK_FALSE(TranscriptHas(path, 0, "\"toolu_2\""));  // its line is still being written
  CHECK_FALSE(TranscriptHas(path, static_cast<int64_t>(first.size()), "\"toolu_1\""));
  std::ofstream(path, std::ios::app) << "\n";
  CHECK(TranscriptHas(path, static_cast<int64_t>(first.size()), "\"toolu_2\""));
}

TEST_CASE("transcript lines with fields of the wrong type are read without throwing",
          "[transcript]") {
  // A harness's file is outside input: `reins hook` crashed on a line whose
  // "type" or "isSidechain" was not the expected kind (found by fuzzing
  // EventSummary, which had the same fault).
  TempDir dir;
  std::string claude = dir.File("claude.jsonl");
  std::ofstream(claude)
      << R"({"type":5,"message":{"id":"x","usage":{"output_tokens":1}}})"
      << "\n"
      << R"({"type":"assistant","isSidechain":"no","requestId":9,)"
      << R"("message":{"id":"a","model":["m"],"stop_reason":"end_turn","usage":{"output_tokens":2}}})"
      << "\n";
  TranscriptCursor cursor;
  std::vector<ModelCall> calls = Read(claude, TranscriptFormat::kClaude, &cursor);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].key == "a/");
  CHECK(calls[0].model.empty());
  CHECK(calls[0].usage["output_tokens"] == 2);

  std::string gemini = dir.File("gemini.jsonl");
  std::ofstream(gemini) << R"({"type":["gemini"],"id":"g0","tokens":{"output":1}})"
                        << "\n"
                        << R"({"type":"gemini","id":"g1","model":3,"tokens":{"output":4}})"
                        << "\n";
  TranscriptCursor gemini_cursor;
  calls = Read(gemini, TranscriptFormat::kGemini, &gemini_cursor);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].key == "g1");
  CHECK(calls[0].model.empty());

  std::string codex = dir.File("codex.jsonl");
  std::ofstream(codex) << R"({"type":{"token_usage_record":1},"payload":{"response_id":"r"}})"
                       << "\n";
  TranscriptCursor codex_cursor;
  CHECK(Read(codex, TranscriptFormat::kCodex, &codex_cursor).empty());
}
