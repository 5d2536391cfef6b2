#include "core/replay.h"

#include <fmt/format.h>

#include <charconv>
#include <thread>

#include "core/data_dir.h"
#include "core/disk_log.h"
#include "core/envelope_codec.h"
#include "core/log.h"
#include "core/record_filter.h"
#include "core/topic.h"

namespace eda {

Result<ReplaySpeed> parse_speed(std::string_view text) {
  if (text == "max") return ReplaySpeed{0};
  if (text == "original") return ReplaySpeed{1};
  double factor = 0;
  if (text.size() > 1 && text.back() == 'x') {
    auto digits = text.substr(0, text.size() - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), factor);
    if (ec == std::errc() && end == digits.data() + digits.size() && factor > 0)
      return ReplaySpeed{factor};
  }
  return invalid_argument(
      fmt::format("invalid speed '{}' (use max, original, or a factor like 2x or 0.5x)", text));
}

Status validate_stop_position(const Position& to) {
  using K = Position::Kind;
  if (to.kind == K::kOffset || to.kind == K::kTime || to.kind == K::kLatest) return ok_status();
  return invalid_argument("--to takes an offset N, @TIME, or latest");
}

void ReplaySink::pace(int64_t ts) {
  auto now = std::chrono::steady_clock::now();
  if (!started_) {
    started_ = true;
    first_ts_ = ts;
    first_wall_ = now;
    return;
  }
  auto offset = std::chrono::duration<double, std::milli>((ts - first_ts_) / speed_.factor);
  auto due = first_wall_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(offset);
  // Short sleeps so an interrupt is noticed within 100 ms.
  while (now < due && !(stop_ && *stop_)) {
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(due - now, std::chrono::milliseconds(100)));
    now = std::chrono::steady_clock::now();
  }
}

Status ReplaySink::write(const EnvelopeView& e) {
  if (done_) return ok_status();
  if (to_ && ((to_->kind == Position::Kind::kOffset && e.offset > uint64_t(to_->value)) ||
              (to_->kind == Position::Kind::kTime && e.ts > to_->value))) {
    done_ = true;
    return ok_status();
  }
  if (speed_.factor > 0) pace(e.ts);
  Status s = inner_.write(e);
  if (to_ && to_->kind == Position::Kind::kOffset && e.offset >= uint64_t(to_->value)) done_ = true;
  return s;
}

namespace {

Status read_topic(TopicLog& log, const std::string& name, const OfflineRead& request,
                  EnvelopeSink& sink, const std::atomic<bool>& stop) {
  RecordFilter wanted;
  if (request.filter) wanted = record_filter(*request.filter);
  uint64_t offset = resolve_position(log, request.from, log.next_offset(), wanted);
  std::vector<StoredRecord> records;
  EnvelopeViewer viewer;  // each record is read in place, not copied
  while (offset < log.next_offset() && !sink.done() && !stop) {
    records.clear();
    std::string skipped;
    auto next = log.read(offset, 1000, 1u << 20, records, skipped);
    if (!next) return next.error();
    if (!skipped.empty()) log_error("topic {}: {}", name, skipped);
    for (const StoredRecord& r : records) {
      if (wanted && !wanted(r)) continue;
      auto e = viewer.view(r.body);
      if (!e) {
        log_error("topic {}: offset {}: {}; skipped", name, r.offset, e.error().message);
        continue;
      }
      if (Status s = sink.write(*e); !s) return s;
      if (sink.done()) break;
    }
    offset = *next;
  }
  return ok_status();
}

}  // namespace

Status read_offline(const OfflineRead& request, EnvelopeSink& sink, const std::atomic<bool>& stop) {
  FileSystem& fs = posix_file_system();
  DataDir dir = DataDir::unlocked(request.data_dir);
  if (!fs.exists(request.data_dir))
    return runtime_error(fmt::format("no data directory at {}", request.data_dir));
  auto topics = dir.topics(fs, request.ns);
  if (!topics) return topics.error();
  bool any = false;
  for (const std::string& name : *topics) {
    bool wanted = std::any_of(request.patterns.begin(), request.patterns.end(),
                              [&](const std::string& p) { return topic_matches(p, name); });
    if (!wanted) continue;
    any = true;
    std::vector<std::string> notes;
    auto log = DiskLog::open(fs, dir.topic_dir(request.ns, name), {0, false, nullptr}, notes);
    if (!log) return log.error();
    for (const std::string& note : notes) log_info("{}", note);
    if (Status s = read_topic(**log, name, request, sink, stop); !s) return s;
    if (sink.done() || stop) break;
  }
  if (!any)
    return runtime_error(fmt::format("no topic matching {} in {}", fmt::join(request.patterns, " "),
                                     request.data_dir));
  return sink.flush();
}

}  // namespace eda
