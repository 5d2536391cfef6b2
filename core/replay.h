// What `replay` adds to reading a log: a last position (--to) and pacing
// (--speed), as a sink that wraps the one that writes the output.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/envelope_output.h"
#include "core/filter.h"
#include "core/position.h"
#include "core/result.h"

namespace eda {

// 0: as fast as possible; 1: the original gaps; N: the gaps divided by N.
struct ReplaySpeed {
  double factor = 0;
};

// "max", "original", or "Nx" (e.g. "2x", "0.5x").
Result<ReplaySpeed> parse_speed(std::string_view text);

// --to accepts an offset, @TIME or latest; anything else is a usage error.
Status validate_stop_position(const Position& to);

class ReplaySink : public EnvelopeSink {
 public:
  // `stop` (may be null) cuts a pacing wait short.
  ReplaySink(EnvelopeSink& inner, std::optional<Position> to, ReplaySpeed speed,
             const std::atomic<bool>* stop)
      : inner_(inner), to_(to), speed_(speed), stop_(stop) {}

  using EnvelopeSink::write;
  Status write(const EnvelopeView& e) override;
  Status flush() override { return inner_.flush(); }
  bool done() const override { return done_; }

 private:
  void pace(int64_t ts);

  EnvelopeSink& inner_;
  std::optional<Position> to_;
  ReplaySpeed speed_;
  const std::atomic<bool>* stop_;
  bool done_ = false;
  bool started_ = false;
  int64_t first_ts_ = 0;
  std::chrono::steady_clock::time_point first_wall_;
};

// Reads topics straight from a broker's data directory, with no broker and
// no lock (a running broker may be writing; what it has not finished writing
// is not read). Topics matching any pattern are read one after another, each
// from `from` to its end, into `sink`.
struct OfflineRead {
  std::string data_dir;
  std::string ns = "default";
  std::vector<std::string> patterns;
  Position from{Position::Kind::kEarliest, 0};
  std::optional<Filter> filter;  // only messages it matches; -N counts those
};
Status read_offline(const OfflineRead& request, EnvelopeSink& sink, const std::atomic<bool>& stop);

}  // namespace eda
