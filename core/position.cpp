#include "core/position.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <optional>

#include "core/duration.h"

namespace eda {

namespace {

namespace chr = std::chrono;

constexpr std::string_view kForms = "use earliest, latest, N, -N, @2024-05-01T12:00:00Z or @-10m";
constexpr std::string_view kTimeForm =
    "not an RFC 3339 time with a zone, such as 2024-05-01T14:00:00.250+02:00";

Error invalid_position(std::string_view text, std::string_view problem) {
  return invalid_argument(fmt::format("invalid position '{}': {} ({})", text, problem, kForms));
}

// A non-negative decimal that spans all of `text`.
std::optional<int64_t> parse_count(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  const char* end = text.data() + text.size();
  int64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || p != end) return std::nullopt;
  return value;
}

// Reads RFC 3339 piece by piece; any mismatch leaves ok() false.
class TimeScanner {
 public:
  explicit TimeScanner(std::string_view text) : rest_(text) {}
  bool ok() const { return ok_ && rest_.empty(); }

  // Exactly `width` digits.
  int digits(size_t width) {
    int value = 0;
    for (size_t i = 0; i < width; ++i) {
      if (i >= rest_.size() || !is_digit(rest_[i])) return fail();
      value = value * 10 + (rest_[i] - '0');
    }
    rest_.remove_prefix(width);
    return value;
  }
  // One of `choices`; returns it, or '\0' on mismatch.
  char one_of(std::string_view choices) {
    if (rest_.empty() || choices.find(rest_.front()) == std::string_view::npos) return fail();
    char c = rest_.front();
    rest_.remove_prefix(1);
    return c;
  }
  // Optional ".digits" as milliseconds; digits past the third are truncated.
  int fraction_ms() {
    if (rest_.empty() || rest_.front() != '.') return 0;
    rest_.remove_prefix(1);
    size_t n = 0;
    int ms = 0;
    for (; n < rest_.size() && is_digit(rest_[n]); ++n)
      if (n < 3) ms = ms * 10 + (rest_[n] - '0');
    if (n == 0) return fail();
    for (size_t i = n; i < 3; ++i) ms *= 10;
    rest_.remove_prefix(n);
    return ms;
  }

 private:
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  int fail() {
    ok_ = false;
    rest_ = {};
    return 0;
  }

  std::string_view rest_;
  bool ok_ = true;
};

struct TimeFields {
  int year, month, day, hour, minute, second, ms;
  int zone_sign, zone_hours, zone_minutes;  // `Z` reads as +00:00
};

std::optional<TimeFields> scan_rfc3339(std::string_view text) {
  TimeScanner scan(text);
  TimeFields f{};
  f.year = scan.digits(4);
  scan.one_of("-");
  f.month = scan.digits(2);
  scan.one_of("-");
  f.day = scan.digits(2);
  scan.one_of("Tt ");  // RFC 3339 allows lower case and a space here
  f.hour = scan.digits(2);
  scan.one_of(":");
  f.minute = scan.digits(2);
  scan.one_of(":");
  f.second = scan.digits(2);
  f.ms = scan.fraction_ms();
  char zone = scan.one_of("Zz+-");
  f.zone_sign = zone == '-' ? -1 : 1;
  if (zone == '+' || zone == '-') {
    f.zone_hours = scan.digits(2);
    scan.one_of(":");
    f.zone_minutes = scan.digits(2);
  }
  if (!scan.ok()) return std::nullopt;
  return f;
}

Result<int64_t> parse_rfc3339(std::string_view text, std::string_view whole) {
  auto f = scan_rfc3339(text);
  if (!f) return invalid_position(whole, kTimeForm);
  chr::year_month_day date{chr::year(f->year), chr::month(f->month), chr::day(f->day)};
  // Second 60 is RFC 3339's leap second; it counts as the next minute's first.
  if (!date.ok() || f->hour > 23 || f->minute > 59 || f->second > 60 || f->zone_hours > 23 ||
      f->zone_minutes > 59)
    return invalid_position(whole, "the date, time or offset is out of range");
  int offset = f->zone_sign * (f->zone_hours * 60 + f->zone_minutes);
  auto instant = chr::sys_days(date) + chr::hours(f->hour) + chr::minutes(f->minute - offset) +
                 chr::seconds(f->second) + chr::milliseconds(f->ms);
  return chr::duration_cast<Millis>(instant.time_since_epoch()).count();
}

Result<Position> parse_time_position(std::string_view text, int64_t now) {
  std::string_view when = text.substr(1);
  if (when.empty()) return invalid_position(text, "'@' needs a time after it");
  if (when.front() != '-') {
    auto ms = parse_rfc3339(when, text);
    if (!ms) return ms.error();
    return Position{Position::Kind::kTime, *ms};
  }
  auto ago = parse_duration(when.substr(1));
  if (!ago)
    return invalid_position(text, fmt::format("'{}' is not a duration like 10m", when.substr(1)));
  return Position{Position::Kind::kTime, now - ago->count()};
}

}  // namespace

Result<Position> parse_position(std::string_view text, int64_t now_ms) {
  using Kind = Position::Kind;
  if (text == "earliest") return Position{Kind::kEarliest, 0};
  if (text == "latest") return Position{Kind::kLatest, 0};
  if (text.empty()) return invalid_position(text, "it is empty");
  if (text.front() == '@') return parse_time_position(text, now_ms);
  if (text.front() == '-') {
    auto count = parse_count(text.substr(1));
    if (!count) return invalid_position(text, "'-' must be followed by a number of messages");
    if (*count == 0) return invalid_position(text, "-0 selects no messages");
    return Position{Kind::kLast, *count};
  }
  if (auto offset = parse_count(text)) return Position{Kind::kOffset, *offset};
  return invalid_position(text, "not a keyword, offset or time");
}

std::string describe_position(const Position& p) {
  switch (p.kind) {
    case Position::Kind::kEarliest:
      return "earliest";
    case Position::Kind::kLatest:
      return "latest";
    case Position::Kind::kOffset:
      return fmt::format("offset {}", p.value);
    case Position::Kind::kLast:
      return fmt::format("last {}", p.value);
    case Position::Kind::kTime:
      return "@" + format_rfc3339(p.value);
  }
  return "unknown";
}

int64_t now_ms() {
  auto since_epoch = chr::system_clock::now().time_since_epoch();
  return chr::duration_cast<Millis>(since_epoch).count();
}

std::string format_rfc3339(int64_t ms) {
  chr::sys_time<Millis> time{Millis(ms)};
  auto day = chr::floor<chr::days>(time);
  chr::year_month_day date{day};
  chr::hh_mm_ss clock{time - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     clock.hours().count(), clock.minutes().count(), clock.seconds().count(),
                     clock.subseconds().count());
}

}  // namespace eda
