// A broker's data directory: the lock that keeps a second broker out, and
// where each namespace's topics live (docs/STORAGE.md "Directory layout").
#pragma once

#include <string>
#include <vector>

#include "core/file.h"
#include "core/result.h"

namespace eda {

// $XDG_DATA_HOME/edatool, else ~/.local/share/edatool.
std::string default_data_dir();

class DataDir {
 public:
  // Creates `path` if needed and takes its LOCK (flock). Fails with a message
  // naming the holder's pid when another broker has it.
  static Result<DataDir> lock(const std::string& path);
  // For readers that take no lock (replay --data).
  static DataDir unlocked(const std::string& path) { return DataDir(path, -1); }

  DataDir(DataDir&& other) noexcept;
  DataDir& operator=(DataDir&&) = delete;
  ~DataDir();

  const std::string& path() const { return path_; }
  std::string namespace_dir(const std::string& ns) const { return path_ + "/" + ns; }
  std::string topic_dir(const std::string& ns, const std::string& topic) const {
    return namespace_dir(ns) + "/" + topic;
  }
  // Namespaces with a directory here, sorted.
  Result<std::vector<std::string>> namespaces() const;
  // Topic names with a directory in namespace `ns` (empty if there is none).
  Result<std::vector<std::string>> topics(FileSystem& fs, const std::string& ns) const;

 private:
  DataDir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::string path_;
  int lock_fd_;
};

}  // namespace eda
