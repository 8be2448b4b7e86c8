#include "harness-adapters/transcript.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "engine/testing.h"

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
