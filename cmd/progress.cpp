#include "cmd/progress.h"

#include <sys/stat.h>
#include <unistd.h>

namespace eda {
namespace {

// How far into a regular file `fd` has been read; nullopt for pipes and ttys.
std::optional<double> read_fraction(int fd) {
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
    return std::nullopt;
  off_t at = ::lseek(fd, 0, SEEK_CUR);
  if (at < 0) return std::nullopt;
  return static_cast<double>(at) / static_cast<double>(st.st_size);
}

}  // namespace

Status ProgressSource::read(std::vector<EnvelopeView>& out, bool& at_end) {
  size_t before = out.size();
  Status s = inner_.read(out, at_end);
  count_ += out.size() - before;
  if (at_end)
    meter_.finish();
  else
    meter_.update(count_, read_fraction(inner_.fd()));
  return s;
}

Status ProgressSink::write(const EnvelopeView& v) {
  meter_.update(++count_);
  return inner_.write(v);
}

}  // namespace eda
