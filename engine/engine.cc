#include "engine/engine.h"

#include <algorithm>
#include <chrono>

#include "engine/engine_internal.h"

namespace reins {

namespace {

std::string StringField(const Event& e, std::string_view field) {
  return std::string(e.GetString(field));
}

int64_t ElapsedNs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                              since)
      .count();
}

}  // namespace

namespace {

template <typename J>
J DecisionJson(const Decision& d) {
  J j;
  j["seq"] = d.seq;
  j["session"] = d.session;
  j["type"] = EventTypeName(d.type);
  j["verdict"] = VerdictName(d.verdict);
  if (!d.reason.empty()) j["reason"] = d.reason;
  j["policies"] = d.policies;
  if (!d.approval_id.empty()) j["approval_id"] = d.approval_id;
  if (!d.patch.is_null()) j["patch"] = J::parse(d.patch.dump());
  return j;
}

}  // namespace

Json Decision::ToJson() const { return DecisionJson<Json>(*this); }

std::string Decision::ToLine() const { return DecisionJson<nlohmann::ordered_json>(*this).dump(); }

Result<Decision> Engine::Submit(Event event) {
  if (!event.has_ts()) event.set_ts(clock_->Now());
  auto slot = GetSlot(event.session());
  for (int attempt = 0; attempt <= options_.max_conflict_retries; ++attempt) {
    std::unique_lock lock(slot->mu);
    REINS_RETURN_IF_ERROR(EnsureLoaded(*slot));
    bool conflict = false;
    std::vector<std::shared_ptr<Slot>> ancestors;
    auto decision = TrySubmit(*slot, event, &conflict, &ancestors);
    if (decision.ok() || !conflict) return decision;
  }
  return Status::Conflict("session '" + event.session() + "': gave up after " +
                          std::to_string(options_.max_conflict_retries) +
                          " conflicting appends by other writers");
}

Result<std::optional<Decision>> Engine::StartSession(Event start) {
  if (start.type() != EventType::kSessionStart) {
    return Status::InvalidArgument("StartSession takes a session_start event");
  }
  if (!start.has_ts()) start.set_ts(clock_->Now());
  auto slot = GetSlot(start.session());
  for (int attempt = 0; attempt <= options_.max_conflict_retries; ++attempt) {
    std::unique_lock lock(slot->mu);
    REINS_RETURN_IF_ERROR(EnsureLoaded(*slot));
    if (slot->state.last_seq > 0) return std::optional<Decision>();
    bool conflict = false;
    std::vector<std::shared_ptr<Slot>> ancestors;
    auto decision = TrySubmit(*slot, start, &conflict, &ancestors);
    if (!conflict) {
      if (!decision.ok()) return decision.status();
      return std::optional<Decision>(std::move(decision).value());
    }
    // Another writer appended first: the reload above sees its records.
  }
  return Status::Conflict("session '" + start.session() + "': gave up after " +
                          std::to_string(options_.max_conflict_retries) +
                          " conflicting appends by other writers");
}

Result<Decision> Engine::TrySubmit(Slot& slot, const Event& input, bool* conflict,
                                   std::vector<std::shared_ptr<Slot>>* ancestors) {
  SessionState& st = slot.state;
  Pending self(st);

  // Approvals whose deadline has passed by this event's time resolve to deny
  // before anything else happens; they are folded in now so that evaluation
  // sees them resolved (on any failure below the slot reloads from the log).
  std::vector<std::string> expired;
  for (const auto& [approval_id, p] : st.pending_approvals) {
    if (p.expires_at <= input.ts()) expired.push_back(approval_id);
  }
  for (const std::string& approval_id : expired) {
    self.Add(RecordKind::kApproval, input.ts(), {{"op", "expired"}, {"id", approval_id}});
    Status s = st.Apply(self.records.back());
    if (!s.ok()) {
      slot.loaded = false;
      return s;
    }
  }
  size_t first_unapplied = self.records.size();

  Event event = input;
  event.set_seq(self.next_seq);
  if (event.type() == EventType::kSessionStart) {
    std::string parent = StringField(event, "parent");
    if (!parent.empty() && !st.parent.empty() && parent != st.parent) {
      slot.loaded = false;
      return Status::InvalidArgument("session '" + st.id + "' already has parent '" + st.parent +
                                     "'; a session_start cannot change it to '" + parent + "'");
    }
    // Walk the new parent's chain through the session index: a loop would
    // make spend roll up forever, and a chain too deep is refused.
    std::string cur = st.parent.empty() ? parent : std::string();
    for (int depth = 0; !cur.empty(); ++depth) {
      if (cur == st.id || depth >= options_.max_session_depth) {
        slot.loaded = false;
        return Status::InvalidArgument("session '" + st.id + "': parent '" + parent + "' " +
                                       (cur == st.id
                                            ? "is this session or one of its descendants"
                                            : "has a chain of ancestors deeper than " +
                                                  std::to_string(options_.max_session_depth)));
      }
      auto summary = store_->GetSession(cur);
      if (!summary.ok()) {
        slot.loaded = false;
        return summary.status();
      }
      cur = summary->has_value() ? (*summary)->parent : std::string();
    }
  }
  self.Add(RecordKind::kEvent, event.ts(), event.json());

  Decision d;
  d.session = st.id;
  d.seq = event.seq();
  d.type = event.type();
  auto evaluate_start = std::chrono::steady_clock::now();
  Status built = event.type() == EventType::kApproval ? ResolveApproval(slot, event, &self, &d)
                                                      : Evaluate(slot, event, &self, &d);
  SubmitTimings timings;
  timings.evaluate_ns = ElapsedNs(evaluate_start);
  if (!built.ok()) {
    slot.loaded = false;
    return built;
  }

  // Roll the event's spend up into every ancestor's log.
  std::vector<std::unique_lock<std::mutex>> ancestor_locks;
  std::vector<Pending> ancestor_records;
  if (self.cost.is_object()) {
    Status s = CollectAncestors(slot, event, ancestors);
    if (!s.ok()) {
      slot.loaded = false;
      return s;
    }
    for (auto& a : *ancestors) {
      ancestor_locks.emplace_back(a->mu);
      s = EnsureLoaded(*a);
      if (!s.ok()) {
        slot.loaded = false;
        return s;
      }
      ancestor_records.emplace_back(a->state);
      ancestor_records.back().Add(RecordKind::kChildCost, event.ts(),
                                  {{"child", st.id},
                                   {"event_seq", event.seq()},
                                   {"model", self.cost["model"]},
                                   {"cost_usd", self.cost["usd"]},
                                   {"tokens", self.cost["tokens"]}});
    }
  }

  // The store reads the records in place; no copy of their bodies is made.
  std::vector<const Record*> all;
  for (const Record& r : self.records) all.push_back(&r);
  for (const Pending& p : ancestor_records) {
    for (const Record& r : p.records) all.push_back(&r);
  }
  auto append_start = std::chrono::steady_clock::now();
  Status appended = store_->Append(all);
  timings.append_ns = ElapsedNs(append_start);
  if (!appended.ok()) {
    *conflict = appended.code() == Status::Code::kConflict;
    slot.loaded = false;
    for (auto& a : *ancestors) a->loaded = false;
    return appended;
  }
  for (size_t i = first_unapplied; i < self.records.size(); ++i) {
    Status s = st.Apply(self.records[i]);
    if (!s.ok()) {
      slot.loaded = false;
      return s;
    }
  }
  for (size_t i = 0; i < ancestor_records.size(); ++i) {
    Slot& a = *(*ancestors)[i];
    for (const Record& r : ancestor_records[i].records) {
      if (!a.state.Apply(r).ok()) a.loaded = false;
    }
    if (observer_) observer_->OnCommitted(a.state.id, ancestor_records[i].records, nullptr, {});
    MaybeSnapshot(a);
  }
  if (observer_) observer_->OnCommitted(st.id, self.records, &d, timings);
  MaybeSnapshot(slot);
  return d;
}

Status Engine::CollectAncestors(Slot& slot, const Event& event,
                                std::vector<std::shared_ptr<Slot>>* ancestors) {
  // The parent may be named by this very event (a session_start).
  std::string parent = slot.state.parent;
  if (parent.empty() && event.type() == EventType::kSessionStart) {
    parent = StringField(event, "parent");
  }
  std::vector<std::string> seen = {slot.state.id};
  while (!parent.empty()) {
    if (std::find(seen.begin(), seen.end(), parent) != seen.end()) {
      return Status::InvalidArgument("session '" + slot.state.id +
                                     "': its parent chain loops back to '" + parent + "'");
    }
    if (static_cast<int>(seen.size()) > options_.max_session_depth) {
      return Status::InvalidArgument("session '" + slot.state.id + "': parent chain deeper than " +
                                     std::to_string(options_.max_session_depth));
    }
    seen.push_back(parent);
    auto a = GetSlot(parent);
    ancestors->push_back(a);
    // Read the next link from the log index, without taking the ancestor's
    // lock out of order.
    auto summary = store_->GetSession(parent);
    if (!summary.ok()) return summary.status();
    parent = summary->has_value() ? (*summary)->parent : std::string();
  }
  return Status::OK();
}

Status Engine::ResolveApproval(Slot& slot, const Event& event, Pending* p, Decision* d) {
  const SessionState& st = slot.state;
  std::string approval_id = StringField(event, "approval_id");
  if (approval_id.empty()) {
    const PendingApproval* latest = nullptr;
    for (const auto& [pid, pa] : st.pending_approvals) {
      if (!latest || pa.event_seq > latest->event_seq) latest = &pa;
    }
    if (!latest) {
      return Status::InvalidArgument("session '" + st.id + "' has no pending approval to resolve");
    }
    approval_id = latest->id;
  }
  auto it = st.pending_approvals.find(approval_id);
  if (it == st.pending_approvals.end()) {
    for (const ResolvedApproval& r : st.resolved_approvals) {
      if (r.id == approval_id) {
        return Status::InvalidArgument("approval '" + approval_id + "' is already " + r.outcome);
      }
    }
    return Status::InvalidArgument("session '" + st.id + "' has no pending approval '" +
                                   approval_id + "'");
  }
  const PendingApproval& pending = it->second;
  bool approved = event.GetBool("approved");
  std::string by = StringField(event, "by");
  std::string note = StringField(event, "note");
  Json resolved = {
      {"op", "resolved"}, {"id", approval_id}, {"approved", approved}, {"event_seq", event.seq()}};
  if (!by.empty()) resolved["by"] = by;
  if (!note.empty()) resolved["note"] = note;
  // A grant: the same policies' asks about the same kinds of action pass
  // for the session, or for a while.
  std::string grant = StringField(event, "grant");
  bool granted = false;
  if (!grant.empty() && grant != "once") {
    TimeUs expires = 0;
    if (grant != "session") {
      auto d = ParseDuration(grant);
      if (!d.ok() || *d <= 0) {
        return Status::InvalidArgument(
            "grant must be once, session or a duration such as 15m; got '" + grant + "'");
      }
      expires = event.ts() + *d;
    }
    if (approved) {
      Json grants = Json::array();
      for (const auto& [policy, kind] : pending.kinds.items()) {
        grants.push_back({{"policy", policy},
                          {"kind", kind},
                          {"expires_at", expires ? FormatRfc3339(expires) : ""}});
      }
      resolved["grants"] = std::move(grants);
      granted = true;
    }
  }
  p->Add(RecordKind::kApproval, event.ts(), std::move(resolved));
  if (approved && !pending.withheld.empty()) {
    p->Add(RecordKind::kState, event.ts(),
           {{"cause_seq", event.seq()}, {"updates", pending.withheld}});
  }

  d->verdict = approved ? Verdict::kAllow : Verdict::kDeny;
  d->reason = std::string(approved ? "approved" : "denied") + (by.empty() ? "" : " by " + by) +
              (note.empty() ? "" : ": " + note) + (granted ? " (granted for " + grant + ")" : "");
  d->policies = pending.policies;
  d->approval_id = approval_id;
  auto set = PoliciesFor(slot);
  if (set.ok()) d->digest = (*set)->digest();
  Json decision = {
      {"event_seq", event.seq()}, {"event_type", "approval"}, {"verdict", VerdictName(d->verdict)},
      {"reason", d->reason},      {"policies", d->policies},  {"approval_id", approval_id},
      {"digest", d->digest}};
  p->Add(RecordKind::kDecision, event.ts(), std::move(decision));
  return Status::OK();
}

// Fail closed: without its policies, a session's events are denied, and why
// is recorded.
Status Engine::DenyUnconfigured(const Event& event, const Status& why, Pending* p, Decision* d) {
  d->verdict = Verdict::kDeny;
  d->reason = "no policies could be loaded for this session: " + why.message();
  p->Add(RecordKind::kDecision, event.ts(),
         {{"event_seq", event.seq()},
          {"event_type", EventTypeName(event.type())},
          {"verdict", VerdictName(d->verdict)},
          {"policies", Json::array()},
          {"results", Json::array()},
          {"digest", ""},
          {"reason", d->reason}});
  p->Add(RecordKind::kNote, event.ts(), {{"source", "engine"}, {"message", why.ToString()}});
  return Status::OK();
}

Status Engine::Evaluate(Slot& slot, const Event& event, Pending* p, Decision* d) {
  const SessionState& st = slot.state;
  // Price the event.
  if (event.type() == EventType::kLlmResponse) {
    TokenCounts tokens;
    if (const Json* usage = event.Get("usage")) tokens = TokenCounts::FromUsage(*usage);
    std::string model = StringField(event, "model");
    if (const Json* explicit_cost = event.Get("cost_usd")) {
      p->cost = {{"usd", explicit_cost->get<double>()}, {"source", "explicit"}};
    } else if (auto usd = prices_->Cost(model, tokens)) {
      p->cost = {{"usd", *usd}, {"source", "price_table"}};
    } else if (!tokens.empty()) {
      p->cost = {{"usd", 0.0}, {"source", "unpriced"}};
    }
    if (p->cost.is_object()) {
      p->cost["model"] = model;
      p->cost["tokens"] = tokens.ToJson();
    }
  } else if (event.type() == EventType::kCost) {
    std::string model = StringField(event, "model");
    p->cost = {{"usd", event.Get("cost_usd")->get<double>()},
               {"source", "explicit"},
               {"model", model.empty() ? st.model : model},
               {"tokens", TokenCounts().ToJson()}};
  }

  auto resolved = PoliciesFor(slot);
  if (!resolved.ok()) return DenyUnconfigured(event, resolved.status(), p, d);
  const std::shared_ptr<const PolicySet>& set = *resolved;
  Evaluation ev = EvaluatePolicies(*set, event, st, prices_.get(), &queries_);

  d->verdict = ev.verdict;
  d->reason = ev.reason;
  d->policies = ev.policies;
  d->digest = set->digest();
  if (ev.verdict == Verdict::kAsk || ev.verdict == Verdict::kModify) d->patch = ev.patch;
  if (ev.verdict == Verdict::kAsk) d->approval_id = st.id + ":" + std::to_string(event.seq());

  Json decision = {{"event_seq", event.seq()},
                   {"event_type", EventTypeName(event.type())},
                   {"verdict", VerdictName(ev.verdict)},
                   {"policies", ev.policies},
                   {"results", ev.results},
                   {"digest", set->digest()}};
  if (!ev.reason.empty()) decision["reason"] = ev.reason;
  // A deny answers with no patch, but its record keeps what the policies
  // before the deny changed: a mask a PII policy made stays in every export
  // of the event (`reins audit export` applies the record's patch).
  if (!ev.patch.is_null()) decision["patch"] = ev.patch;
  if (!d->approval_id.empty()) decision["approval_id"] = d->approval_id;
  if (p->cost.is_object()) decision["cost"] = p->cost;
  int64_t decision_seq = p->Add(RecordKind::kDecision, event.ts(), std::move(decision));

  for (const Json& note : ev.notes) {
    p->Add(
        RecordKind::kNote, event.ts(),
        {{"source", "policy:" + note["policy"].get<std::string>()}, {"message", note["message"]}});
  }
  for (const std::string& failure : ev.failures) {
    p->Add(RecordKind::kNote, event.ts(), {{"source", "engine"}, {"message", failure}});
  }
  if (ev.verdict == Verdict::kAsk) {
    TimeUs timeout = ev.ask_timeout > 0 ? ev.ask_timeout : options_.default_ask_timeout;
    Json request = {{"op", "requested"},
                    {"id", d->approval_id},
                    {"event_seq", event.seq()},
                    {"event_type", EventTypeName(event.type())},
                    {"policies", ev.policies},
                    {"reason", ev.reason},
                    {"expires_at", FormatRfc3339(event.ts() + timeout)},
                    {"withheld", ev.updates},
                    {"kinds", ev.kinds}};
    if (!event.tool().empty()) request["tool"] = event.tool();
    if (!ev.patch.is_null()) request["patch"] = ev.patch;
    p->Add(RecordKind::kApproval, event.ts(), std::move(request));
  } else if (!ev.updates.empty()) {
    p->Add(RecordKind::kState, event.ts(), {{"cause_seq", decision_seq}, {"updates", ev.updates}});
  }
  return Status::OK();
}

}  // namespace reins
