// The replay engine and how it follows a recording (the contract is in
// replay.h).
#include "cli/replay.h"

#include <utility>

#include "engine/json_fields.h"
#include "engine/policy_set.h"

namespace reins {

namespace {

// How strongly a verdict holds an event back: an ask can still be approved,
// a deny cannot; allow and modify let it through.
int Strength(const std::string& verdict) {
  if (verdict == "deny") return 2;
  if (verdict == "ask") return 1;
  return 0;
}

std::string Mark(const std::string& verdict) {
  if (verdict == "deny") return "blocked";
  if (verdict == "ask") return "paused";
  if (verdict == "modify") return "rewritten";
  return "passes";
}

ReplayVerdict RecordedVerdict(const Json& decision) {
  ReplayVerdict v;
  v.verdict = JsonString(decision, "verdict");
  v.reason = JsonString(decision, "reason");
  auto it = decision.find("policies");
  if (it != decision.end() && it->is_array()) {
    for (const Json& p : *it) {
      if (p.is_string()) v.policies.push_back(p.get<std::string>());
    }
  }
  return v;
}

ReplayVerdict NewVerdict(const Decision& d) {
  return {std::string(VerdictName(d.verdict)), d.reason, d.policies};
}

double CostOf(const Json& decision) {
  auto it = decision.find("cost");
  if (it == decision.end() || !it->is_object()) return 0;
  auto usd = it->find("usd");
  return usd != it->end() && usd->is_number() ? usd->get<double>() : 0;
}

// The session's policies under the new layers: the given files first, then
// what the session recorded (its own policies, its inline agent spec), then
// the server file's agent spec for the session's agent.
Result<std::shared_ptr<const PolicySet>> Resolve(const ReplayLayers& layers,
                                                 const SessionState& state) {
  ConfigLoader loader(layers.server->registry.get());
  std::vector<ConfigError> errors;
  std::optional<PolicyLayer> recorded_session, recorded_agent;
  const PolicyLayer* session = layers.session ? &*layers.session : nullptr;
  if (!session) {
    auto it = state.config.find("session_policies");
    if (it != state.config.end() && it->is_object() && !it->empty()) {
      auto parsed = loader.ParseApiLayer(*it, Layer::kSession, &errors);
      if (!parsed.ok()) return errors.empty() ? parsed.status() : ConfigStatus(errors);
      recorded_session = std::move(parsed).value();
      session = &*recorded_session;
    }
  }
  const PolicyLayer* agent = layers.agent ? &*layers.agent : nullptr;
  if (!agent) {
    auto it = state.config.find("agent_spec");
    if (it != state.config.end() && it->is_object()) {
      auto parsed = loader.ParseApiAgent(*it, &errors);
      if (!parsed.ok()) return errors.empty() ? parsed.status() : ConfigStatus(errors);
      recorded_agent = std::move(parsed->policies);
      agent = &*recorded_agent;
    } else if (auto a = layers.server->agents.find(state.agent); a != layers.server->agents.end()) {
      agent = &a->second->policies;
    }
  }
  return PolicySet::Compose(session, agent, &layers.server->policies);
}

}  // namespace

struct Replayer::Track {
  std::optional<Record> event;                // waiting for its decision record
  std::map<std::string, int64_t> asked;       // recorded approval id -> recorded event seq
  std::map<int64_t, std::string> replay_ask;  // recorded event seq -> the replay's pending ask
  bool window = false;                        // the turn has an event the new policies block harder
  std::vector<std::string> window_policies;
};

// Remembers the cost of the decision just committed: an events file has no
// recorded cost, so the replay's own pricing is what it would have spent.
class Replayer::Observer : public EngineObserver {
 public:
  void OnCommitted(const std::string&, const std::vector<Record>& records, const Decision* decision,
                   const SubmitTimings&) override {
    if (!decision) return;
    for (const Record& r : records) {
      if (r.kind == RecordKind::kDecision) last_cost = CostOf(r.body);
    }
  }
  double last_cost = 0;
};

Result<std::unique_ptr<Replayer>> Replayer::Create(ReplayLayers layers, ChangeFn on_change,
                                                   WarnFn warn) {
  std::unique_ptr<Replayer> r(new Replayer());
  r->layers_ = std::move(layers);
  r->on_change_ = std::move(on_change);
  r->warn_ = std::move(warn);
  r->clock_ = std::make_unique<ManualClock>(0);
  SqliteOptions sqlite;
  sqlite.group_commit = false;  // one thread submits
  sqlite.scratch = true;
  // "": SQLite's private temporary database, on disk and deleted on close.
  auto store = OpenSqliteLogStore("", sqlite);
  if (!store.ok()) return store.status().WithPrefix("the replay's temporary log");
  r->store_ = std::move(store).value();
  const EngineSettings& settings = r->layers_.server->settings;
  EngineOptions options;
  options.default_ask_timeout = settings.ask_timeout;
  options.max_cached_sessions = 256;  // the rest reload from the replay log
  auto prices = settings.prices ? settings.prices
                                : std::make_shared<const PriceTable>(PriceTable::OverBuiltin());
  r->engine_ = std::make_unique<Engine>(r->store_.get(), prices, r->clock_.get(), options);
  r->observer_ = std::make_unique<Observer>();
  r->engine_->SetObserver(r->observer_.get());
  const ReplayLayers* l = &r->layers_;
  r->engine_->SetPolicyResolver([l](const SessionState& st) { return Resolve(*l, st); });
  return r;
}

Replayer::~Replayer() {
  engine_.reset();  // before the store it writes to
  store_.reset();
}

Status Replayer::FeedRecord(const Record& record) {
  std::unique_ptr<Track>& slot = tracks_[record.session];
  if (!slot) {
    slot = std::make_unique<Track>();
    ++totals_.sessions;
  }
  Track& track = *slot;
  switch (record.kind) {
    case RecordKind::kEvent:
      if (track.event) {
        warn_(record.session + " seq " + std::to_string(track.event->seq) +
              ": recorded without a decision; not replayed");
        ++totals_.not_replayed;
      }
      track.event = record;
      return Status::OK();
    case RecordKind::kDecision: {
      auto seq = record.body.find("event_seq");
      if (!track.event || seq == record.body.end() || !seq->is_number() ||
          seq->get<int64_t>() != track.event->seq) {
        return Status::OK();
      }
      Record event = std::move(*track.event);
      track.event.reset();
      return Replay(track, event, record.body);
    }
    case RecordKind::kConfig: {
      clock_->Set(record.ts);
      auto seq = engine_->Configure(record.session, record.body);
      return seq.ok() ? Status::OK() : seq.status();
    }
    default:
      // State, approval, note and child_cost records are the replay
      // engine's to produce from the events.
      return Status::OK();
  }
}

void Replayer::EndSession(const std::string& session) {
  auto it = tracks_.find(session);
  if (it == tracks_.end()) return;
  if (it->second->event) {
    warn_(session + " seq " + std::to_string(it->second->event->seq) +
          ": recorded without a decision; not replayed");
    ++totals_.not_replayed;
  }
  tracks_.erase(it);
}

Result<Decision> Replayer::Submit(Event event) {
  if (event.has_ts()) clock_->Set(event.ts());
  return engine_->Submit(std::move(event));
}

Status Replayer::Replay(Track& track, const Record& record, const Json& old_decision) {
  auto event = Event::FromJson(record.body);
  if (!event.ok()) {
    warn_(record.session + " seq " + std::to_string(record.seq) +
          ": not replayed: " + event.status().message());
    ++totals_.not_replayed;
    return Status::OK();
  }
  if (event->type() == EventType::kApproval) return ReplayApproval(track, *event, old_decision);

  ReplayVerdict old = RecordedVerdict(old_decision);
  if (old.verdict == "ask") track.asked[JsonString(old_decision, "approval_id")] = record.seq;
  auto d = Submit(*event);
  if (!d.ok()) {
    if (d.status().code() != Status::Code::kInvalidArgument) return d.status();
    warn_(record.session + " seq " + std::to_string(record.seq) +
          ": not replayed: " + d.status().message());
    ++totals_.not_replayed;
    return Status::OK();
  }
  ++totals_.events;
  ReplayChange change;
  change.session = record.session;
  change.seq = record.seq;
  change.type = std::string(event->type_name());
  change.summary = EventSummary(record.body);
  change.now = NewVerdict(*d);
  change.mark = Mark(change.now.verdict);
  if (d->verdict == Verdict::kAsk) {
    if (old.verdict == "ask") {
      // The recording's answer to this ask, if it has one, comes later.
      track.replay_ask[record.seq] = d->approval_id;
    } else {
      // Nobody was asked at the time: answer as the recording went, so the
      // session carries on as it did.
      bool approved = Strength(old.verdict) == 0;
      Json answer = {{"session", record.session},
                     {"type", "approval"},
                     {"approval_id", d->approval_id},
                     {"approved", approved},
                     {"by", "reins replay"},
                     {"note", "answered as the recording went"},
                     {"ts", FormatRfc3339(event->ts())}};
      auto a = Event::FromJson(std::move(answer));
      if (!a.ok()) return a.status();
      auto resolved = Submit(std::move(a).value());
      if (!resolved.ok()) return resolved.status();
      change.answered_as = approved ? "approved" : "denied";
      ++totals_.asks_answered;
    }
  }
  change.old = std::move(old);
  Account(track, change, CostOf(old_decision));
  return Status::OK();
}

Status Replayer::ReplayApproval(Track& track, const Event& event, const Json& old_decision) {
  std::string replay_id;
  auto asked = track.asked.find(JsonString(old_decision, "approval_id"));
  if (asked != track.asked.end()) {
    auto pending = track.replay_ask.find(asked->second);
    if (pending != track.replay_ask.end()) {
      replay_id = pending->second;
      track.replay_ask.erase(pending);
    }
    track.asked.erase(asked);
  }
  if (replay_id.empty()) {
    ++totals_.approvals_unneeded;
    return Status::OK();
  }
  Json answer = event.json();
  answer["approval_id"] = replay_id;
  auto a = Event::FromJson(std::move(answer));
  if (!a.ok()) return a.status();
  auto d = Submit(std::move(a).value());
  if (!d.ok()) {
    // Expired in the replay before its recorded answer came (a shorter
    // ask_timeout): nothing left to answer.
    if (d.status().code() != Status::Code::kInvalidArgument) return d.status();
    ++totals_.approvals_unneeded;
    return Status::OK();
  }
  ++totals_.approvals_replayed;
  return Status::OK();
}

Status Replayer::FeedEvent(Event event, int64_t line) {
  std::unique_ptr<Track>& slot = tracks_[event.session()];
  if (!slot) {
    slot = std::make_unique<Track>();
    ++totals_.sessions;
  }
  bool approval = event.type() == EventType::kApproval;
  Json json = event.json();
  observer_->last_cost = 0;
  auto d = Submit(std::move(event));
  if (approval) {
    if (d.ok()) {
      ++totals_.approvals_replayed;
      return Status::OK();
    }
    if (d.status().code() != Status::Code::kInvalidArgument) return d.status();
    ++totals_.approvals_unneeded;
    return Status::OK();
  }
  if (!d.ok()) return d.status();
  ++totals_.events;
  ReplayChange change;
  change.session = d->session;
  change.seq = line;
  change.type = std::string(EventTypeName(d->type));
  change.summary = EventSummary(json);
  change.now = NewVerdict(*d);
  change.mark = Mark(change.now.verdict);
  Account(*slot, change, observer_->last_cost);
  return Status::OK();
}

void Replayer::Account(Track& track, const ReplayChange& change, double recorded_cost) {
  if (change.type == "request") {
    track.window = false;
    track.window_policies.clear();
  }
  if (track.window && recorded_cost > 0) {
    totals_.saved_usd += recorded_cost;
    for (const std::string& p : track.window_policies)
      totals_.policies[p].saved_usd += recorded_cost;
  }
  std::string old_verdict = change.old ? change.old->verdict : "allow";
  bool changed = change.old ? change.now.verdict != old_verdict : change.now.verdict != "allow";
  if (!changed) return;
  ++totals_.changed;
  int before = Strength(old_verdict), after = Strength(change.now.verdict);
  for (const std::string& p : change.now.policies) {
    if (change.now.verdict == "ask") ++totals_.policies[p].asks;
    if (change.now.verdict == "deny") ++totals_.policies[p].denies;
  }
  if (change.old && after < before) {
    for (const std::string& p : change.old->policies) ++totals_.policies[p].lifted;
  }
  if (after > before && !track.window) {
    track.window = true;
    track.window_policies = change.now.policies;
  }
  on_change_(change);
}

}  // namespace reins
