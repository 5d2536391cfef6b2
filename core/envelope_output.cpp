#include "core/envelope_output.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <msgpack.hpp>

#include "core/envelope_codec.h"
#include "core/envelope_json.h"

namespace eda {
namespace {

constexpr size_t kFlushAt = 256 * 1024;

}  // namespace

Result<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "raw") return OutputFormat::kRaw;
  if (name == "json") return OutputFormat::kJson;
  if (name == "msgpack") return OutputFormat::kMsgpack;
  return invalid_argument(fmt::format("unknown format '{}' (use raw, json or msgpack)", name));
}

Status FdSink::write(const EnvelopeView& v) {
  if (template_) {
    template_->render(v, buffer_);
  } else if (format_ == OutputFormat::kRaw) {
    buffer_ += v.payload;
    buffer_ += '\n';
  } else if (format_ == OutputFormat::kJson) {
    append_envelope_json(v, buffer_);
    buffer_ += '\n';
  } else {
    StringStream stream{buffer_};
    msgpack::packer<StringStream> pk(stream);
    pack_envelope(pk, v);
  }
  return buffer_.size() >= kFlushAt ? flush() : ok_status();
}

Status FdSink::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      buffer_.clear();
      return runtime_error(fmt::format("writing output: {}", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return ok_status();
}

}  // namespace eda
