// Fuzzes event JSON parsing and validation (engine/event.h), the record form
// an event takes in the log (engine/record.h) and merge patches.
//
// Input: an event's JSON text, optionally followed by a line "#patch" and a
// JSON merge patch to apply to it.
//
// Invariants: an accepted event's canonical JSON parses back to the same
// event and the same bytes; its `ts` survives the log's formatting; a
// stamped event still validates; a record round-trips through its JSON form
// with the same hash; a patch never changes session or type, leaves a valid
// event, and MergePatchDiff of before and after reproduces it; summaries
// stay within their bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/canonical_json.h"
#include "engine/clock.h"
#include "engine/event.h"
#include "engine/record.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using reins::Event;
using reins::Json;

void CheckSummary(const Json& value) {
  for (size_t max : {size_t{8}, size_t{60}}) {
    std::string s = reins::EventSummary(value, max);
    FUZZ_CHECK(s.size() <= max, s);
    FUZZ_CHECK(s.find('\n') == std::string::npos, s);
  }
}

void CheckRecord(const Event& ev) {
  reins::Record r;
  r.session = ev.session();
  r.seq = ev.seq();
  r.kind = reins::RecordKind::kEvent;
  r.ts = ev.ts();
  r.body = ev.json();
  r.Seal(reins::kGenesisHash);
  FUZZ_CHECK(r.body_text == reins::CanonicalJson(ev.json()), r.body_text);
  auto back = reins::Record::FromJson(r.ToJson());
  FUZZ_CHECK(back.ok(), back.status().ToString());
  FUZZ_CHECK(back->session == r.session && back->seq == r.seq && back->kind == r.kind,
             r.ToJson().dump());
  FUZZ_CHECK(back->ts == r.ts, reins::FormatRfc3339(r.ts) + " read back as " +
                                   reins::FormatRfc3339(back->ts) + " from " +
                                   std::to_string(r.ts));
  FUZZ_CHECK(back->body == r.body, r.ToJson().dump());
  FUZZ_CHECK(reins::ChainHash(reins::kGenesisHash, *back) == r.hash, r.ToJson().dump());
  reins::ChainHasher hasher(r.session);
  FUZZ_CHECK(hasher.Hash(reins::kGenesisHash, r.seq, r.kind, r.ts, r.body_text) == r.hash,
             r.ToJson().dump());
}

void CheckEvent(const Event& ev) {
  // Canonical JSON parses back to the same event, and is a fixed point.
  std::string canonical = reins::CanonicalJson(ev.json());
  auto again = Event::Parse(canonical);
  FUZZ_CHECK(again.ok(), again.status().ToString() + "\n  " + canonical);
  FUZZ_CHECK(again->json() == ev.json(), canonical);
  FUZZ_CHECK(reins::CanonicalJson(again->json()) == canonical, canonical);
  FUZZ_CHECK(again->type() == ev.type() && again->session() == ev.session() &&
                 again->seq() == ev.seq() && again->has_ts() == ev.has_ts() &&
                 again->ts() == ev.ts(),
             canonical);
  FUZZ_CHECK(ev.seq() >= 0, canonical);
  FUZZ_CHECK(!ev.session().empty(), canonical);
  FUZZ_CHECK(reins::EventTypeFromName(ev.type_name()) == ev.type(), canonical);

  // The time the log records reads back as the event's time.
  if (ev.has_ts()) {
    std::string formatted = reins::FormatRfc3339(ev.ts());
    auto ts = reins::ParseRfc3339(formatted);
    FUZZ_CHECK(ts.ok() && *ts == ev.ts(),
               ev.GetString("ts").data() + std::string(" -> ") + formatted);
  }

  // Stamped as the log does (any seq given is replaced), it is still valid.
  Event stamped = ev;
  stamped.set_seq(42);
  if (!stamped.has_ts()) stamped.set_ts(1795250700000000);
  auto revalidated = Event::FromJson(stamped.json());
  FUZZ_CHECK(revalidated.ok(), revalidated.status().ToString());
  FUZZ_CHECK(revalidated->ts() == stamped.ts(), stamped.json().dump());

  CheckRecord(stamped);
  CheckSummary(ev.json());
  (void)ev.input();
  (void)ev.tool();
}

void CheckPatch(const Event& ev, const Json& patch) {
  Event patched = ev;
  reins::Status st = patched.ApplyPatch(patch);
  if (!st.ok()) {
    FUZZ_CHECK(patched.json() == ev.json(), "a refused patch changed the event");
    return;
  }
  FUZZ_CHECK(patched.session() == ev.session() && patched.type() == ev.type() &&
                 patched.seq() == ev.seq() && patched.ts() == ev.ts(),
             patch.dump());
  auto valid = Event::FromJson(patched.json());
  FUZZ_CHECK(valid.ok(), valid.status().ToString());
  Json diff = reins::MergePatchDiff(ev.json(), patched.json());
  Json replayed = ev.json();
  replayed.merge_patch(diff);
  FUZZ_CHECK(replayed == patched.json(),
             "diff " + diff.dump() + " of " + ev.json().dump() + " -> " + patched.json().dump());
  CheckEvent(patched);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view event_text, patch_text;
  reins::fuzz::SplitAt(text, "\n#patch\n", &event_text, &patch_text);

  // Whatever the JSON, summaries (shown for unvalidated input too) and the
  // record reader cope with it.
  Json raw = Json::parse(event_text.begin(), event_text.end(), nullptr, /*allow_exceptions=*/false);
  if (!raw.is_discarded()) {
    CheckSummary(raw);
    auto record = reins::Record::FromJson(raw);
    if (record.ok()) {
      auto back = reins::Record::FromJson(record->ToJson());
      FUZZ_CHECK(back.ok() && back->body == record->body && back->seq == record->seq &&
                     back->ts == record->ts,
                 raw.dump());
    }
  }

  reins::EventLimits limits;
  limits.max_depth = 16;
  auto ev = Event::Parse(event_text, limits);
  if (!ev.ok()) {
    FUZZ_CHECK(!ev.status().message().empty(), "an error without a message");
    return 0;
  }
  CheckEvent(*ev);
  if (!patch_text.empty()) {
    Json patch =
        Json::parse(patch_text.begin(), patch_text.end(), nullptr, /*allow_exceptions=*/false);
    if (!patch.is_discarded()) CheckPatch(*ev, patch);
  }
  return 0;
}
