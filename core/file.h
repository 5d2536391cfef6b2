// The file operations storage needs, behind an interface so tests can inject
// short writes and errors (tests/fault_file_system.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace eda {

// One open file. Not thread-safe, except sync(), which may run on another
// thread while this one appends (the syncer of group commit).
class File {
 public:
  virtual ~File() = default;
  // Appends all of `data` at the end. On error some prefix may have been
  // written; the caller truncates back.
  virtual Status append(std::string_view data) = 0;
  // Reads up to `n` bytes at `pos`; fewer only at the end of the file.
  virtual Result<size_t> read_at(uint64_t pos, char* buf, size_t n) const = 0;
  virtual Status truncate(uint64_t size) = 0;
  virtual Status sync() = 0;
  virtual uint64_t size() const = 0;
  // Replaces the whole content (for small index files).
  virtual Status rewrite(std::string_view data) = 0;
};

enum class OpenMode { kReadOnly, kReadWrite, kCreate };

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) = 0;
  // Names of the entries in `dir` (not "." or ".."), unsorted.
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual Status create_dirs(const std::string& dir) = 0;
  virtual Status remove(const std::string& path) = 0;
  // Removes `dir` and everything in it.
  virtual Status remove_all(const std::string& dir) = 0;
  // Atomically replaces `to` (if it exists) with `from`, as POSIX rename(2).
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Makes the directory's entries (new or removed files) durable.
  virtual Status sync_dir(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;
};

// Replaces the file at `path` with `bytes` durably and atomically: written to
// `path`.tmp, synced, renamed over `path`, directory synced. A crash leaves
// the old file or the new one (and maybe a stale .tmp, removed next time).
Status replace_file(FileSystem& fs, const std::string& path, std::string_view bytes);

// The real thing: POSIX calls.
FileSystem& posix_file_system();

// "<what> <path>: <strerror(errno)>", as a runtime error.
Error io_error(std::string_view what, const std::string& path);

}  // namespace eda
