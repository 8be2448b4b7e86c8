// OnPool: runs blocking work (the engine, a durable append) on a thread pool
// from an Asio coroutine, so I/O threads never block. Shared by the server
// and the LLM proxy.
#pragma once

// clang-format off
#include <utility>  // before Asio: Boost 1.74's coroutine support needs it under C++20
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

namespace reins {

namespace asio = boost::asio;

// Runs `fn` on `target` (an executor, such as a strand of a pool) and resumes
// the calling coroutine on its own executor with fn's result.
template <typename Executor, typename F>
asio::awaitable<std::invoke_result_t<F>> OnExecutor(Executor target, F fn) {
  using R = std::invoke_result_t<F>;
  return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [target, fn = std::move(fn)](auto handler) mutable {
        asio::post(target, [handler = std::move(handler), fn = std::move(fn)]() mutable {
          R result = fn();
          auto ex = asio::get_associated_executor(handler);
          asio::dispatch(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
            handler(std::move(result));
          });
        });
      },
      asio::use_awaitable);
}

// Runs `fn` on `pool`. The engine blocks (a durable append, a group commit),
// so it never runs on the threads that do network I/O.
template <typename F>
asio::awaitable<std::invoke_result_t<F>> OnPool(asio::thread_pool& pool, F fn) {
  return OnExecutor(pool.get_executor(), std::move(fn));
}

}  // namespace reins
