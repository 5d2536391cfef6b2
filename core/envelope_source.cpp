#include "core/envelope_source.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace eda {

Status ListSource::read(std::vector<Envelope>& out, bool& at_end) {
  for (Envelope& e : envelopes_) out.push_back(std::move(e));
  envelopes_.clear();
  at_end = true;
  return ok_status();
}

Status StreamSource::read(std::vector<Envelope>& out, bool& at_end) {
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
