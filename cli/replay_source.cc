// Reading a recording for `reins replay`: which sessions, and their records
// merged into the order they were written.
#include <algorithm>
#include <deque>

#include "cli/replay.h"

namespace reins {

Result<std::vector<ReplaySession>> SelectReplaySessions(LogStore* recorded,
                                                        const std::string& session, bool all,
                                                        TimeUs since) {
  SessionQuery query;
  if (all) {
    query.since = since;
  } else {
    if (session.rfind(kReservedSessionPrefix, 0) == 0) {
      return Status::InvalidArgument("'" + session +
                                     "' is reins's own log of configuration changes, not a "
                                     "session of events");
    }
    auto summary = recorded->GetSession(session);
    if (!summary.ok()) return summary.status();
    if (!summary->has_value()) return Status::NotFound("no session '" + session + "' in the log");
    // The whole tree: spend rolls up from children into their ancestors,
    // and the policies of each see it.
    query.root = (*summary)->root.empty() ? session : (*summary)->root;
  }
  std::vector<ReplaySession> out;
  Status st = recorded->ListSessions(query, [&](const SessionSummary& s) {
    out.push_back({s.id, s.started_at});
    return true;
  });
  if (!st.ok()) return st;
  std::sort(out.begin(), out.end(), [](const ReplaySession& a, const ReplaySession& b) {
    return a.started_at != b.started_at ? a.started_at < b.started_at : a.id < b.id;
  });
  return out;
}

namespace {

// Records are read this many at a time per session, so a replay holds a
// small window of each session that is under way, never a whole log.
constexpr int64_t kBatch = 64;

struct Cursor {
  const ReplaySession* session = nullptr;
  size_t order = 0;  // position in start order: breaks ties between equal times
  int64_t after = 0;
  bool exhausted = false;
  std::deque<Record> batch;

  Status Fill(LogStore* store) {
    if (exhausted) return Status::OK();
    int64_t n = 0;
    Status st = store->Scan(session->id, after, kBatch, [&](const Record& r) {
      batch.push_back(r);
      after = r.seq;
      ++n;
      return true;
    });
    if (n < kBatch) exhausted = true;
    return st.ok() ? st : st.WithPrefix("reading session '" + session->id + "'");
  }
};

// A min-heap on (time of the next record, start order).
bool Later(const std::unique_ptr<Cursor>& a, const std::unique_ptr<Cursor>& b) {
  TimeUs ta = a->batch.front().ts, tb = b->batch.front().ts;
  return ta != tb ? ta > tb : a->order > b->order;
}

}  // namespace

Status ReplayRecorded(LogStore* recorded, const std::vector<ReplaySession>& sessions,
                      Replayer* replayer) {
  std::vector<std::unique_ptr<Cursor>> heap;
  size_t next = 0;
  // A cursor with records waits in the merge; one without has ended.
  auto admit = [&](std::unique_ptr<Cursor> c) {
    if (c->batch.empty()) {
      replayer->EndSession(c->session->id);
      return;
    }
    heap.push_back(std::move(c));
    std::push_heap(heap.begin(), heap.end(), Later);
  };
  while (true) {
    // A session joins once the merge reaches its first record's time.
    while (next < sessions.size() &&
           (heap.empty() || sessions[next].started_at <= heap.front()->batch.front().ts)) {
      auto c = std::make_unique<Cursor>();
      c->session = &sessions[next];
      c->order = next++;
      REINS_RETURN_IF_ERROR(c->Fill(recorded));
      admit(std::move(c));
    }
    if (heap.empty()) return Status::OK();
    std::pop_heap(heap.begin(), heap.end(), Later);
    std::unique_ptr<Cursor> c = std::move(heap.back());
    heap.pop_back();
    Record r = std::move(c->batch.front());
    c->batch.pop_front();
    REINS_RETURN_IF_ERROR(replayer->FeedRecord(r));
    if (c->batch.empty()) {
      REINS_RETURN_IF_ERROR(c->Fill(recorded));
    }
    admit(std::move(c));
  }
}

}  // namespace reins
