#include "engine/clock.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace reins {

namespace {

constexpr TimeUs kUsPerSecond = 1000000;
// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what four-digit years hold.
constexpr int64_t kMinSeconds = -62167219200;
constexpr int64_t kMaxSeconds = 253402300799;
// The longest duration: 1e10 seconds (about 317 years), the bound on a
// timeout given as a number of seconds (config_entry.cc).
constexpr TimeUs kMaxDuration = 10'000'000'000LL * kUsPerSecond;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n decimal digits at text[*pos].
bool Digits(std::string_view text, size_t* pos, int n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char a, char b = 0) {
  if (*pos >= text.size()) return false;
  char c = text[*pos];
  if (c != a && (b == 0 || c != b)) return false;
  ++*pos;
  return true;
}

}  // namespace

TimeUs SystemClock::Now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<TimeUs> ParseRfc3339(std::string_view text) {
  auto bad = [&](const char* what) {
    return Status::InvalidArgument("invalid RFC 3339 timestamp '" + std::string(text) +
                                   "': " + what);
  };
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &day)) {
    return bad("expected YYYY-MM-DD");
  }
  if (!Expect(text, &pos, 'T', 't') && !Expect(text, &pos, ' ')) return bad("expected 'T'");
  if (!Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &second)) {
    return bad("expected HH:MM:SS");
  }
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month) ||
      hour > 23 || minute > 59 || second > 60) {
    return bad("field out of range");
  }
  TimeUs frac = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int ndigits = 0;
    TimeUs scale = 100000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (ndigits < 6) frac += (text[pos] - '0') * scale;
      scale /= 10;
      ++ndigits;
      ++pos;
    }
    if (ndigits == 0) return bad("empty fraction");
  }
  int64_t offset_s = 0;
  if (Expect(text, &pos, 'Z', 'z')) {
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Digits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &om) ||
        oh > 23 || om > 59) {
      return bad("bad UTC offset");
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return bad("missing 'Z' or UTC offset");
  }
  if (pos != text.size()) return bad("trailing characters");
  if (second == 60) second = 59;  // leap second: clamp, we do not model them
  int64_t days = DaysFromCivil(year, month, day);
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  // An offset can carry a time past year 0000 or 9999, which FormatRfc3339
  // (four-digit years) cannot write back: the log would record another time.
  if (secs < kMinSeconds || secs > kMaxSeconds) return bad("outside years 0000 to 9999 in UTC");
  return secs * kUsPerSecond + frac;
}

std::string FormatRfc3339(TimeUs t) {
  int64_t secs = t >= 0 ? t / kUsPerSecond : -((-t + kUsPerSecond - 1) / kUsPerSecond);
  int64_t us = t - secs * kUsPerSecond;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  // Hand-formatted: this runs for every record sealed, and snprintf showed
  // up in profiles.
  char buf[32];
  auto put = [](char* p, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
  };
  y = std::clamp<int64_t>(y, 0, 9999);  // RFC 3339 has four-digit years
  put(buf, y, 4);
  buf[4] = '-';
  put(buf + 5, m, 2);
  buf[7] = '-';
  put(buf + 8, d, 2);
  buf[10] = 'T';
  put(buf + 11, rem / 3600, 2);
  buf[13] = ':';
  put(buf + 14, rem / 60 % 60, 2);
  buf[16] = ':';
  put(buf + 17, rem % 60, 2);
  buf[19] = '.';
  put(buf + 20, us, 6);
  buf[26] = 'Z';
  return std::string(buf, 27);
}

std::string UtcDay(TimeUs t) { return FormatRfc3339(t).substr(0, 10); }

Result<TimeUs> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                   "' (expected e.g. 90s, 15m, 24h, 7d, 1h30m or seconds)");
  };
  if (text.empty()) return bad();
  TimeUs total = 0;
  size_t pos = 0;
  bool any_unit = false;
  while (pos < text.size()) {
    int64_t n = 0;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      n = n * 10 + (text[pos] - '0');
      if (n > 100000000) return bad();
      ++pos;
    }
    if (pos == start) return bad();
    if (pos == text.size()) {
      if (any_unit) return bad();  // "1h30" is ambiguous
      total += n * kUsPerSecond;
      break;
    }
    int64_t unit;
    switch (text[pos]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return bad();
    }
    ++pos;
    any_unit = true;
    total += n * unit * kUsPerSecond;  // each part fits (n <= 1e8, unit <= 1 day)
    // Their sum may not, nor a time plus the sum (a deadline): bounded as a
    // timeout given in seconds is.
    if (total > kMaxDuration) {
      return Status::InvalidArgument("duration '" + std::string(text) + "' is longer than " +
                                     std::to_string(kMaxDuration / kUsPerSecond) + " seconds");
    }
  }
  return total;
}

}  // namespace reins
