// Coroutine helpers for the server: running blocking work on a thread pool,
// and a wake-up a coroutine can wait on with a deadline.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <type_traits>

#include "harness-adapters/on_pool.h"

namespace reins {

namespace asio = boost::asio;

// A wake-up for one coroutine. Notify() may be called from any thread; Wait()
// runs on the executor the notifier was made with (a connection's strand),
// which is also where Notify's effect lands, so no wake-up is lost between
// checking and waiting.
class Notifier : public std::enable_shared_from_this<Notifier> {
 public:
  explicit Notifier(asio::any_io_executor ex) : timer_(std::move(ex)) {}

  void Notify() {
    asio::post(timer_.get_executor(), [self = shared_from_this()] {
      self->fired_ = true;
      self->timer_.cancel();
    });
  }

  // True when notified (since the last Wait), false when `deadline` passed.
  asio::awaitable<bool> Wait(std::chrono::steady_clock::time_point deadline) {
    if (!fired_) {
      timer_.expires_at(deadline);
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    bool fired = fired_;
    fired_ = false;
    co_return fired;
  }

 private:
  asio::steady_timer timer_;
  bool fired_ = false;
};

}  // namespace reins
