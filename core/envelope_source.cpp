#include "core/envelope_source.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace eda {

Status ListSource::read(std::vector<EnvelopeView>& out, bool& at_end) {
  at_end = true;
  if (given_) return ok_status();
  given_ = true;
  std::vector<EnvelopeView> views = view_envelopes(envelopes_, headers_);
  out.insert(out.end(), views.begin(), views.end());
  return ok_status();
}

Status StreamSource::read(std::vector<EnvelopeView>& out, bool& at_end) {
  ssize_t n = ::read(fd_, chunk_.data(), chunk_.size());
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return ok_status();
    at_end = true;
    return runtime_error(fmt::format("reading input: {}", std::strerror(errno)));
  }
  input_.feed(std::string_view(chunk_.data(), static_cast<size_t>(n)));
  at_end = n == 0;
  Status s = input_.drain(at_end, out);
  if (!s) at_end = true;
  return s;
}

}  // namespace eda
