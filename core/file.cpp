#include "core/file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace eda {

Error io_error(std::string_view what, const std::string& path) {
  return runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

namespace {

class PosixFile : public File {
 public:
  PosixFile(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  Status append(std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, size_ + done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error("cannot write", path_);
      done += static_cast<size_t>(n);
    }
    size_ += done;
    return ok_status();
  }

  Result<size_t> read_at(uint64_t pos, char* buf, size_t n) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, buf + done, n - done, static_cast<off_t>(pos + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return io_error("cannot read", path_);
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return io_error("cannot truncate", path_);
    size_ = size;
    return ok_status();
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return io_error("cannot sync", path_);
    return ok_status();
  }

  uint64_t size() const override { return size_; }

  Status rewrite(std::string_view data) override {
    if (Status s = truncate(0); !s) return s;
    return append(data);
  }

 private:
  int fd_;
  std::string path_;
  uint64_t size_;
};

class PosixFileSystem : public FileSystem {
 public:
  Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override {
    int flags = mode == OpenMode::kReadOnly    ? O_RDONLY
                : mode == OpenMode::kReadWrite ? O_RDWR
                                               : O_RDWR | O_CREAT | O_EXCL;
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("cannot open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return io_error("cannot stat", path);
    }
    return std::unique_ptr<File>(new PosixFile(fd, path, static_cast<uint64_t>(st.st_size)));
  }

  Result<std::vector<std::string>> list(const std::string& dir) override {
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      names.push_back(entry.path().filename().string());
    if (ec) return runtime_error(fmt::format("cannot list {}: {}", dir, ec.message()));
    return names;
  }

  Status create_dirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return runtime_error(fmt::format("cannot create directory {}: {}", dir, ec.message()));
    return ok_status();
  }

  Status remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("cannot remove", path);
    return ok_status();
  }

  Status remove_all(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) return runtime_error(fmt::format("cannot remove {}: {}", dir, ec.message()));
    return ok_status();
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return io_error("cannot rename " + from + " to", to);
    return ok_status();
  }

  Status sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open directory", dir);
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return io_error("cannot sync directory", dir);
    return ok_status();
  }

  bool exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
};

}  // namespace

Status replace_file(FileSystem& fs, const std::string& path, std::string_view bytes) {
  std::string tmp = path + ".tmp";
  if (fs.exists(tmp))
    if (Status s = fs.remove(tmp); !s) return s;
  auto file = fs.open(tmp, OpenMode::kCreate);
  if (!file) return file.error();
  if (Status s = (*file)->rewrite(bytes); !s) return s;
  if (Status s = (*file)->sync(); !s) return s;
  file->reset();
  if (Status s = fs.rename(tmp, path); !s) return s;
  return fs.sync_dir(path.substr(0, path.find_last_of('/')));
}

FileSystem& posix_file_system() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace eda
