// Hub: what the server hears from the engine after each commit, and who is
// waiting for it: people long-polling an approval, agents holding an ask
// (?wait), and Server-Sent Event streams of a session's records. It also
// feeds the decision and latency metrics.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/engine.h"
#include "server/async.h"
#include "server/metrics.h"

namespace reins {

// A session stream's queue: records waiting to be sent, filled by the Hub.
struct StreamQueue {
  explicit StreamQueue(std::shared_ptr<Notifier> n, size_t max)
      : notifier(std::move(n)), max(max) {}
  std::mutex mu;
  std::deque<Record> records;
  bool overflowed = false;  // more than `max` waiting: the client is too slow
  std::shared_ptr<Notifier> notifier;
  size_t max;
};

class Hub : public EngineObserver {
 public:
  Hub(Metrics* metrics, size_t max_waiters);

  void OnCommitted(const std::string& session, const std::vector<Record>& records,
                   const Decision* decision, const SubmitTimings& timings) override;

  // Registrations end when the returned handle is destroyed.
  using Handle = std::shared_ptr<void>;

  // Notifies `n` when approval `id` is resolved or expires. Null when the
  // server already has max_waiters waiting (the caller answers 503).
  Handle WatchApproval(const std::string& id, std::shared_ptr<Notifier> n);
  // Appends every record committed to `session` to `queue`. Null when full.
  Handle Subscribe(const std::string& session, std::shared_ptr<StreamQueue> queue);

  // Wakes every waiter (shutdown, so long waits end).
  void NotifyAll();

  // Sessions with an event in the last five minutes.
  int64_t ActiveSessions();

 private:
  bool AcquireWaiter();
  void ReleaseWaiter();
  // Forgets sessions quiet for longer than the active window; mu_ held.
  void PruneLocked(std::chrono::steady_clock::time_point now);

  Metrics* metrics_;
  size_t max_waiters_;
  std::mutex mu_;
  size_t waiters_ = 0;
  std::unordered_map<std::string, std::vector<std::weak_ptr<Notifier>>> approvals_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<StreamQueue>>> streams_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_active_;
  size_t prune_at_ = 1024;  // last_active_'s size that triggers the next prune
};

}  // namespace reins
