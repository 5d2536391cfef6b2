#include "core/data_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/log_format.h"
#include "core/topic.h"

namespace eda {

std::string default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/edatool";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/edatool";
}

Result<DataDir> DataDir::lock(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    return runtime_error(fmt::format("cannot create data directory {}: {}", path, ec.message()));
  std::string lock_path = path + "/" + std::string(log_format::kLockFile);
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open", lock_path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    (void)!::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    std::string holder =
        pid[0] ? fmt::format(" (pid {})", std::string(pid).substr(0, std::strcspn(pid, "\n"))) : "";
    return runtime_error(fmt::format(
        "data directory {} is in use by another broker{}; stop it or use another --data", path,
        holder));
  }
  std::string pid = fmt::format("{}\n", ::getpid());
  (void)!::ftruncate(fd, 0);
  (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return DataDir(path, fd);
}

DataDir::DataDir(DataDir&& other) noexcept
    : path_(std::move(other.path_)), lock_fd_(std::exchange(other.lock_fd_, -1)) {}

DataDir::~DataDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::vector<std::string>> DataDir::namespaces() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path_, ec)) {
    std::string name = entry.path().filename().string();
    std::error_code gone;  // an entry removed meanwhile is not a namespace
    if (entry.is_directory(gone) && validate_namespace(name)) names.push_back(std::move(name));
  }
  if (ec)
    return runtime_error(fmt::format("cannot list data directory {}: {}", path_, ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<std::string>> DataDir::topics(FileSystem& fs, const std::string& ns) const {
  std::string dir = namespace_dir(ns);
  if (!fs.exists(dir)) return std::vector<std::string>{};
  auto names = fs.list(dir);
  if (!names) return names.error();
  std::vector<std::string> topics;
  for (std::string& name : *names)
    if (validate_system_topic(name)) topics.push_back(std::move(name));
  std::sort(topics.begin(), topics.end());
  return topics;
}

}  // namespace eda
