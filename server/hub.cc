#include "server/hub.h"

#include <algorithm>

namespace reins {

namespace {

constexpr auto kActiveWindow = std::chrono::minutes(5);

template <typename T>
void Drop(std::unordered_map<std::string, std::vector<std::weak_ptr<T>>>* map,
          const std::string& key, const T* which) {
  auto it = map->find(key);
  if (it == map->end()) return;
  auto& list = it->second;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const std::weak_ptr<T>& w) {
                              auto p = w.lock();
                              return !p || p.get() == which;
                            }),
             list.end());
  if (list.empty()) map->erase(it);
}

}  // namespace

Hub::Hub(Metrics* metrics, size_t max_waiters) : metrics_(metrics), max_waiters_(max_waiters) {}

void Hub::OnCommitted(const std::string& session, const std::vector<Record>& records,
                      const Decision* decision, const SubmitTimings& timings) {
  if (decision && metrics_) {
    metrics_->Decision(decision->verdict, decision->policies);
    metrics_->evaluation().Observe(timings.evaluate_ns);
    metrics_->append().Observe(timings.append_ns);
  }
  std::vector<std::shared_ptr<Notifier>> wake;
  std::lock_guard lock(mu_);
  if (decision) {
    auto now = std::chrono::steady_clock::now();
    last_active_[session] = now;
    // Sessions come and go: forget the ones gone quiet whenever the map has
    // doubled, not only when /metrics asks, so memory stays flat.
    if (last_active_.size() >= prune_at_) {
      PruneLocked(now);
      prune_at_ = std::max<size_t>(1024, 2 * last_active_.size());
    }
  }
  if (!approvals_.empty()) {
    for (const Record& r : records) {
      if (r.kind != RecordKind::kApproval || r.body.value("op", "") == "requested") continue;
      auto it = approvals_.find(r.body.value("id", ""));
      if (it == approvals_.end()) continue;
      for (auto& w : it->second) {
        if (auto n = w.lock()) wake.push_back(n);
      }
    }
  }
  auto it = streams_.find(session);
  if (it != streams_.end()) {
    for (auto& w : it->second) {
      auto q = w.lock();
      if (!q) continue;
      {
        std::lock_guard qlock(q->mu);
        for (const Record& r : records) {
          if (q->records.size() >= q->max) {
            q->overflowed = true;
            break;
          }
          q->records.push_back(r);
        }
      }
      wake.push_back(q->notifier);
    }
  }
  for (auto& n : wake) n->Notify();
}

bool Hub::AcquireWaiter() {
  if (waiters_ >= max_waiters_) return false;
  ++waiters_;
  if (metrics_) metrics_->waiters().fetch_add(1);
  return true;
}

void Hub::ReleaseWaiter() {
  --waiters_;
  if (metrics_) metrics_->waiters().fetch_sub(1);
}

Hub::Handle Hub::WatchApproval(const std::string& id, std::shared_ptr<Notifier> n) {
  std::lock_guard lock(mu_);
  if (!AcquireWaiter()) return nullptr;
  approvals_[id].push_back(n);
  Notifier* raw = n.get();
  return Handle(raw, [this, id, raw](void*) {
    std::lock_guard lock(mu_);
    Drop(&approvals_, id, raw);
    ReleaseWaiter();
  });
}

Hub::Handle Hub::Subscribe(const std::string& session, std::shared_ptr<StreamQueue> queue) {
  std::lock_guard lock(mu_);
  if (!AcquireWaiter()) return nullptr;
  streams_[session].push_back(queue);
  StreamQueue* raw = queue.get();
  return Handle(raw, [this, session, raw](void*) {
    std::lock_guard lock(mu_);
    Drop(&streams_, session, raw);
    ReleaseWaiter();
  });
}

void Hub::NotifyAll() {
  std::vector<std::shared_ptr<Notifier>> wake;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, list] : approvals_) {
      for (auto& w : list) {
        if (auto n = w.lock()) wake.push_back(n);
      }
    }
    for (auto& [id, list] : streams_) {
      for (auto& w : list) {
        if (auto q = w.lock()) wake.push_back(q->notifier);
      }
    }
  }
  for (auto& n : wake) n->Notify();
}

int64_t Hub::ActiveSessions() {
  std::lock_guard lock(mu_);
  PruneLocked(std::chrono::steady_clock::now());
  return static_cast<int64_t>(last_active_.size());
}

void Hub::PruneLocked(std::chrono::steady_clock::time_point now) {
  for (auto it = last_active_.begin(); it != last_active_.end();) {
    it = now - it->second > kActiveWindow ? last_active_.erase(it) : std::next(it);
  }
}

}  // namespace reins
