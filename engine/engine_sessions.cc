// The engine's sessions: finding and loading them (from a snapshot plus the
// records after it), their policies, configuration records and the expiry
// of approvals nobody answered.
#include <algorithm>
#include <map>

#include "engine/engine.h"
#include "engine/engine_internal.h"

namespace reins {

Engine::Engine(LogStore* store, std::shared_ptr<const PriceTable> prices, Clock* clock,
               EngineOptions options)
    : store_(store),
      prices_(std::move(prices)),
      clock_(clock),
      options_(options),
      queries_(store, options.max_query_records) {
  auto empty = PolicySet::Compose(nullptr, nullptr, nullptr);
  default_policies_ = std::move(empty).value();
}

Engine::~Engine() = default;

void Engine::SetPolicies(std::shared_ptr<const PolicySet> policies) {
  std::lock_guard lock(mu_);
  default_policies_ = std::move(policies);
}

void Engine::SetSessionPolicies(const std::string& session,
                                std::shared_ptr<const PolicySet> policies) {
  auto slot = GetSlot(session);
  std::lock_guard lock(slot->mu);
  slot->policies = std::move(policies);
}

void Engine::SetPolicyResolver(PolicyResolver resolver) {
  {
    std::lock_guard lock(mu_);
    resolver_ = std::move(resolver);
  }
  InvalidatePolicies();
}

void Engine::InvalidatePolicies() { policy_generation_.fetch_add(1); }

Result<std::shared_ptr<const PolicySet>> Engine::Policies(const std::string& session) {
  auto slot = GetSlot(session);
  std::lock_guard lock(slot->mu);
  REINS_RETURN_IF_ERROR(EnsureLoaded(*slot));
  return PoliciesFor(*slot);
}

Result<std::shared_ptr<const PolicySet>> Engine::PoliciesFor(Slot& slot) {
  if (slot.policies) return slot.policies;
  PolicyResolver resolver;
  {
    std::lock_guard lock(mu_);
    if (!resolver_) return default_policies_;
    resolver = resolver_;
  }
  uint64_t generation = policy_generation_.load();
  if (slot.resolved && slot.resolved_generation == generation &&
      slot.resolved_config_seq == slot.state.config_seq) {
    return slot.resolved;
  }
  auto set = resolver(slot.state);
  if (!set.ok()) return set.status().WithPrefix("policies of session '" + slot.state.id + "'");
  slot.resolved = *set;
  slot.resolved_generation = generation;
  slot.resolved_config_seq = slot.state.config_seq;
  return slot.resolved;
}

std::shared_ptr<Engine::Slot> Engine::GetSlot(const std::string& session) {
  std::vector<std::shared_ptr<Slot>> forgotten;  // released after the lock
  std::lock_guard lock(mu_);
  auto& slot = slots_[session];
  if (!slot) slot = std::make_shared<Slot>(session);
  slot->last_used = ++use_clock_;
  auto result = slot;
  // Beyond the cap, forget the least recently used tenth of the sessions
  // nobody is using: their state is a snapshot and a short tail away. A
  // tenth at a time keeps the work per new session small, and the recent
  // sessions (the ones about to send again) stay.
  if (slots_.size() > options_.max_cached_sessions) {
    std::vector<std::pair<uint64_t, const std::string*>> idle;
    for (const auto& [id, s] : slots_) {
      if (s.use_count() == 1) idle.emplace_back(s->last_used, &id);
    }
    size_t n = std::min(idle.size(), std::max<size_t>(1, options_.max_cached_sessions / 10));
    std::nth_element(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(n), idle.end());
    forgotten.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      auto it = slots_.find(*idle[i].second);
      forgotten.push_back(std::move(it->second));
      slots_.erase(it);
    }
  }
  return result;
}

size_t Engine::CachedSessions() {
  std::lock_guard lock(mu_);
  return slots_.size();
}

Result<SessionState> Engine::Fold(LogStore* store, const std::string& session) {
  SessionState state(session);
  Status apply_status;
  Status st = store->Scan(session, 0, 0, [&](const Record& r) {
    apply_status = state.Apply(r);
    return apply_status.ok();
  });
  if (!st.ok()) return st;
  if (!apply_status.ok()) return apply_status;
  return state;
}

Status Engine::EnsureLoaded(Slot& slot) {
  if (slot.loaded) return Status::OK();
  slot.resolved.reset();
  if (options_.snapshot_every > 0 && LoadFromSnapshot(slot).ok()) return Status::OK();
  auto state = Fold(store_, slot.state.id);
  if (!state.ok()) return state.status();
  slot.state = std::move(state).value();
  slot.snapshot_seq = 0;
  slot.loaded = true;
  return Status::OK();
}

// A snapshot is used only when the log still holds the record it was taken
// at with the same hash; otherwise the caller folds the whole log.
Status Engine::LoadFromSnapshot(Slot& slot) {
  auto snapshot = store_->LoadSnapshot(slot.state.id);
  if (!snapshot.ok()) return snapshot.status();
  if (!snapshot->has_value()) return Status::NotFound("no snapshot");
  // Not a structured binding: Clang before 16 cannot capture one in a lambda.
  const int64_t seq = (*snapshot)->first;
  const std::string& text = (*snapshot)->second;
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("snapshot is not JSON");
  auto state = SessionState::FromJson(j);
  if (!state.ok()) return state.status();
  if (state->id != slot.state.id || state->last_seq != seq) {
    return Status::Corruption("snapshot of another session or seq");
  }
  bool anchored = false;
  Status apply_status;
  Status st = store_->Scan(slot.state.id, seq - 1, 0, [&](const Record& r) {
    if (r.seq == seq) {
      anchored = r.hash == state->last_hash;
      return anchored;
    }
    apply_status = state->Apply(r);
    return apply_status.ok();
  });
  if (!st.ok()) return st;
  if (!anchored) return Status::Corruption("snapshot does not match the log");
  if (!apply_status.ok()) return apply_status;
  slot.state = std::move(state).value();
  slot.snapshot_seq = seq;
  slot.loaded = true;
  return Status::OK();
}

// Snapshots are an optimization: failing to save one loses nothing.
void Engine::MaybeSnapshot(Slot& slot) {
  if (options_.snapshot_every <= 0 || !slot.loaded ||
      slot.state.last_seq - slot.snapshot_seq < options_.snapshot_every) {
    return;
  }
  if (store_->SaveSnapshot(slot.state.id, slot.state.last_seq, slot.state.ToJson().dump()).ok()) {
    slot.snapshot_seq = slot.state.last_seq;
  }
}

Result<SessionState> Engine::State(const std::string& session) {
  auto slot = GetSlot(session);
  std::lock_guard lock(slot->mu);
  REINS_RETURN_IF_ERROR(EnsureLoaded(*slot));
  return slot->state;
}

Status Engine::Commit(Slot& slot, Pending& p) {
  Status appended = store_->Append(p.records);
  if (!appended.ok()) {
    slot.loaded = false;
    return appended;
  }
  for (const Record& r : p.records) {
    Status s = slot.state.Apply(r);
    if (!s.ok()) {
      slot.loaded = false;
      return s;
    }
  }
  if (observer_) observer_->OnCommitted(slot.state.id, p.records, nullptr, {});
  MaybeSnapshot(slot);
  return Status::OK();
}

Result<int64_t> Engine::Configure(const std::string& session, Json body) {
  if (!body.is_object()) return Status::InvalidArgument("a config record body must be an object");
  return AppendRecord(session, RecordKind::kConfig, std::move(body));
}

Result<int64_t> Engine::Note(const std::string& session, const std::string& source,
                             const std::string& message) {
  return AppendRecord(session, RecordKind::kNote, {{"source", source}, {"message", message}});
}

Result<int64_t> Engine::AppendRecord(const std::string& session, RecordKind kind, Json body) {
  auto slot = GetSlot(session);
  for (int attempt = 0; attempt <= options_.max_conflict_retries; ++attempt) {
    std::lock_guard lock(slot->mu);
    REINS_RETURN_IF_ERROR(EnsureLoaded(*slot));
    Pending p(slot->state);
    int64_t seq = p.Add(kind, clock_->Now(), body);
    Status st = Commit(*slot, p);
    if (st.ok()) return seq;
    if (st.code() != Status::Code::kConflict) return st;
  }
  return Status::Conflict("session '" + session + "': gave up appending after conflicts");
}

Result<int> Engine::ExpireDue(TimeUs now) {
  std::map<std::string, std::vector<std::string>> due;  // by session
  Status listed = store_->ListApprovals("pending", 0, [&](const ApprovalSummary& a) {
    if (a.expires_at <= now) due[a.session].push_back(a.id);
    return true;
  });
  if (!listed.ok()) return listed;
  int expired = 0;
  for (const auto& [session, ids] : due) {
    auto slot = GetSlot(session);
    std::lock_guard lock(slot->mu);
    REINS_RETURN_IF_ERROR(EnsureLoaded(*slot));
    Pending p(slot->state);
    for (const auto& [id, pending] : slot->state.pending_approvals) {
      if (pending.expires_at <= now)
        p.Add(RecordKind::kApproval, now, {{"op", "expired"}, {"id", id}});
    }
    if (p.records.empty()) continue;  // answered meanwhile
    Status st = Commit(*slot, p);
    // Another writer got there first: its next event will expire them.
    if (!st.ok() && st.code() != Status::Code::kConflict) return st;
    if (st.ok()) expired += static_cast<int>(p.records.size());
  }
  return expired;
}

Result<double> StoreQueries::UserSpend(std::string_view user, std::string_view day) const {
  return store_->UserSpend(user, day);
}

Result<Json> StoreQueries::UserValue(std::string_view user, std::string_view policy,
                                     std::string_view key) const {
  return store_->UserValue(user, policy, key);
}

Status StoreQueries::Events(std::string_view session, const EventQuery& query,
                            const std::function<bool(const Record&)>& fn) const {
  int64_t limit = query.limit > 0 ? std::min(query.limit, max_records_) : max_records_;
  return store_->ScanEvents(session, query.type, query.tool, query.since, limit, fn);
}

}  // namespace reins
