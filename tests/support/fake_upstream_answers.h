// The fake upstream's answers (fake_upstream.h): each provider's JSON
// bodies and Server-Sent Event sequences, built from a request and the
// script, apart from the serving of them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/fake_upstream.h"

namespace reins::testing::fake {

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;                 // when not streamed
  std::vector<std::string> events;  // when streamed: each one chunk, written on its own
  bool streamed = false;
};

// The answer to `seen` under `script`; `number` (1, 2, ...) makes its ids.
Reply Answer(const FakeUpstream::Seen& seen, const FakeUpstream::Script& script, uint64_t number);

Reply JsonReply(const nlohmann::json& body, int status = 200);

}  // namespace reins::testing::fake
