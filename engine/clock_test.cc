#include "engine/clock.h"

#include <catch2/catch.hpp>

using namespace reins;

TEST_CASE("RFC 3339 timestamps parse to UTC microseconds", "[clock]") {
  CHECK(*ParseRfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(*ParseRfc3339("2026-11-21T08:45:00Z") == 1795250700LL * 1000000);
  CHECK(*ParseRfc3339("2026-11-21T10:45:00+02:00") == *ParseRfc3339("2026-11-21T08:45:00Z"));
  CHECK(*ParseRfc3339("2026-11-21T08:45:00.25Z") - *ParseRfc3339("2026-11-21T08:45:00Z") == 250000);
  CHECK(*ParseRfc3339("2024-02-29t23:59:59.999999z") % 1000000 == 999999);
  CHECK(*ParseRfc3339("1969-12-31T23:59:59Z") == -1000000);
}

TEST_CASE("malformed timestamps are rejected with the reason", "[clock]") {
  for (const char* bad : {"2026-11-21", "2026-11-21T08:45:00", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T08:45Z",
                          "2026-11-21T08:45:00Zjunk", "yesterday", "2026-11-21T08:45:00.Z"}) {
    auto r = ParseRfc3339(bad);
    INFO(bad);
    CHECK_FALSE(r.ok());
    CHECK(r.status().message().find(bad) != std::string::npos);
  }
}

TEST_CASE("formatting round-trips and names the UTC day", "[clock]") {
  for (const char* ts : {"2026-11-21T08:45:00.123456Z", "2000-02-29T00:00:00.000000Z",
                         "1969-12-31T23:59:59.500000Z"}) {
    CHECK(FormatRfc3339(*ParseRfc3339(ts)) == ts);
  }
  CHECK(UtcDay(*ParseRfc3339("2026-11-21T23:30:00-02:00")) == "2026-11-22");
}

TEST_CASE("durations accept units and bare seconds", "[clock]") {
  CHECK(*ParseDuration("90s") == 90LL * 1000000);
  CHECK(*ParseDuration("15m") == 900LL * 1000000);
  CHECK(*ParseDuration("1h30m") == 5400LL * 1000000);
  CHECK(*ParseDuration("2d") == 172800LL * 1000000);
  CHECK(*ParseDuration("3600") == 3600LL * 1000000);
  for (const char* bad : {"", "h", "10x", "1h30", "-5m"}) CHECK_FALSE(ParseDuration(bad).ok());
}

// Found by tests/fuzz (fuzz_event_json): an offset moved these past the
// years FormatRfc3339 writes, so the log recorded another time.
TEST_CASE("timestamps outside years 0000 to 9999 in UTC are rejected", "[clock][fuzz]") {
  for (const char* bad : {"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"}) {
    auto r = ParseRfc3339(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("outside years 0000 to 9999") != std::string::npos);
  }
  for (const char* edge : {"0000-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z"}) {
    CHECK(FormatRfc3339(*ParseRfc3339(edge)) == edge);
  }
  CHECK(FormatRfc3339(*ParseRfc3339("0000-01-01T01:00:00+01:00")) == "0000-01-01T00:00:00.000000Z");
}

// Found by tests/fuzz (fuzz_config_yaml, UBSan): parts that fit one by one
// overflowed their sum ("ask_timeout: 99999999d99999999d"), and a deadline
// (an event's time plus the timeout) could overflow too.
TEST_CASE("durations too long for the clock are rejected", "[clock][fuzz]") {
  for (const char* bad : {"99999999d99999999d", "99999999d", "115741d", "100000d15741d"}) {
    auto d = ParseDuration(bad);
    INFO(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().message().find("is longer than 10000000000 seconds") != std::string::npos);
  }
  CHECK(*ParseDuration("115740d") == 115740LL * 86400 * 1000000);
  CHECK(*ParseDuration("100000d15740d") == 115740LL * 86400 * 1000000);
}
