// An in-memory FileSystem (core/file.h) for storage tests, with switches that
// inject the failures a disk gives: short writes, write errors (ENOSPC),
// read errors, failed truncates, failed syncs, failed creates and renames. Helpers
// corrupt, truncate and extend files behind the code's back, as a crash or a
// bad disk would.
//
// Every handle on a path shares one content, as open files on a real file
// system do. Faults stay armed until cleared (`faults = {}`), and apply only
// to paths containing `faults.path_filter` (every path when it is empty).
//
// Thread-safety: File::sync() may run on a syncer thread (group commit) while
// the test thread appends; sync counters and sync switches are atomic and the
// sync gate is guarded by a mutex. Everything else belongs to one thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/file.h"
#include "core/result.h"

namespace eda::testing {

class FaultFileSystem : public FileSystem {
 public:
  struct Faults {
    std::string path_filter;   // only paths containing this (empty: every path)
    bool write_error = false;  // append and rewrite fail, writing nothing
    // append writes only the first `short_write_bytes` bytes, then fails
    bool short_write = false;
    size_t short_write_bytes = 0;
    // The write faults above spare this many matching appends first (for
    // "the header of a new segment is written, its first batch is not").
    int spared_writes = 0;
    bool read_error = false;      // read_at fails
    bool truncate_error = false;  // truncate fails, the file keeps its size
    bool create_error = false;    // open(kCreate) fails and creates nothing
    bool remove_error = false;    // remove fails
    bool rename_error = false;    // rename fails (when either path matches), changing nothing
  };
  Faults faults;

  // Separate from `faults` because the syncer thread reads them.
  std::atomic<bool> sync_error{false};      // File::sync fails
  std::atomic<bool> sync_dir_error{false};  // sync_dir fails

  struct Node {
    std::string data;
    std::atomic<int> syncs{0};
  };

  // --- FileSystem ---

  Result<std::unique_ptr<File>> open(const std::string& path, OpenMode mode) override {
    auto it = files_.find(path);
    if (mode == OpenMode::kCreate) {
      if (it != files_.end()) return runtime_error("cannot open " + path + ": File exists");
      if (applies(path) && faults.create_error)
        return runtime_error("cannot open " + path + ": No space left on device");
      if (!dirs_.count(parent(path)))
        return runtime_error("cannot open " + path + ": No such file or directory");
      it = files_.emplace(path, std::make_shared<Node>()).first;
    } else if (it == files_.end()) {
      return runtime_error("cannot open " + path + ": No such file or directory");
    }
    ++opens_;
    return std::unique_ptr<File>(
        new FaultFile(*this, path, it->second, mode != OpenMode::kReadOnly));
  }

  Result<std::vector<std::string>> list(const std::string& dir) override {
    if (!dirs_.count(dir))
      return runtime_error("cannot list " + dir + ": No such file or directory");
    std::vector<std::string> names;
    for (const auto& [path, node] : files_)
      if (parent(path) == dir) names.push_back(path.substr(dir.size() + 1));
    for (const std::string& d : dirs_)
      if (d != dir && parent(d) == dir) names.push_back(d.substr(dir.size() + 1));
    return names;
  }

  Status create_dirs(const std::string& dir) override {
    for (std::string d = dir; !d.empty() && d != "/"; d = parent(d)) dirs_.insert(d);
    return ok_status();
  }

  Status remove(const std::string& path) override {
    if (applies(path) && faults.remove_error)
      return runtime_error("cannot remove " + path + ": Input/output error");
    files_.erase(path);
    return ok_status();
  }

  Status remove_all(const std::string& dir) override {
    std::string prefix = dir + "/";
    std::erase_if(files_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
    std::erase_if(dirs_, [&](const std::string& d) { return d == dir || d.starts_with(prefix); });
    return ok_status();
  }

  Status rename(const std::string& from, const std::string& to) override {
    if ((applies(from) || applies(to)) && faults.rename_error)
      return runtime_error("cannot rename " + from + " to " + to + ": Input/output error");
    auto it = files_.find(from);
    if (it == files_.end())
      return runtime_error("cannot rename " + from + " to " + to + ": No such file or directory");
    auto node = it->second;
    files_.erase(it);
    files_[to] = std::move(node);
    return ok_status();
  }

  Status sync_dir(const std::string& dir) override {
    if (sync_dir_error)
      return runtime_error("cannot sync directory " + dir + ": Input/output error");
    std::lock_guard lock(sync_mutex_);
    synced_dirs_.push_back(dir);
    return ok_status();
  }

  bool exists(const std::string& path) override {
    return files_.count(path) > 0 || dirs_.count(path) > 0;
  }

  // --- test helpers ---

  bool has_file(const std::string& path) const { return files_.count(path) > 0; }
  bool has_dir(const std::string& path) const { return dirs_.count(path) > 0; }

  // The whole content of `path` (empty if there is no such file).
  std::string contents(const std::string& path) const {
    auto it = files_.find(path);
    return it == files_.end() ? std::string() : it->second->data;
  }
  uint64_t file_size(const std::string& path) const { return contents(path).size(); }

  // Creates or replaces `path` (its directory must exist) with `data`.
  void set_contents(const std::string& path, std::string data) {
    auto& node = files_[path];
    if (!node) node = std::make_shared<Node>();
    node->data = std::move(data);
  }

  // Flips the bits of `mask` in the byte at `pos`, as a bad sector would.
  void corrupt(const std::string& path, uint64_t pos, uint8_t mask = 0xff) {
    std::string& d = node(path).data;
    d.at(pos) = static_cast<char>(static_cast<uint8_t>(d.at(pos)) ^ mask);
  }

  // Overwrites bytes at `pos` (extending the file if needed).
  void overwrite(const std::string& path, uint64_t pos, std::string_view bytes) {
    std::string& d = node(path).data;
    if (d.size() < pos + bytes.size()) d.resize(pos + bytes.size());
    d.replace(pos, bytes.size(), bytes);
  }

  // Cuts `path` to `size` bytes, as a crash in the middle of a write would.
  void truncate_file(const std::string& path, uint64_t size) { node(path).data.resize(size); }

  void append_bytes(const std::string& path, std::string_view bytes) {
    node(path).data.append(bytes);
  }

  // fdatasync calls on `path` so far, through any handle.
  int syncs(const std::string& path) const {
    auto it = files_.find(path);
    return it == files_.end() ? 0 : it->second->syncs.load();
  }

  std::vector<std::string> synced_dirs() {
    std::lock_guard lock(sync_mutex_);
    return synced_dirs_;
  }

  int opens() const { return opens_; }

  // While the gate is closed, File::sync blocks (on whatever thread calls it).
  // A test closes it, waits until a syncer is inside sync(), arranges what it
  // wants to race, then opens the gate. No sleeps.
  void close_sync_gate() {
    std::lock_guard lock(sync_mutex_);
    gate_closed_ = true;
  }
  void open_sync_gate() {
    {
      std::lock_guard lock(sync_mutex_);
      gate_closed_ = false;
    }
    sync_cv_.notify_all();
  }
  // Waits until `n` syncs are blocked at the gate, or `timeout` passes.
  bool wait_for_blocked_syncs(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(sync_mutex_);
    return sync_cv_.wait_for(lock, timeout, [&] { return blocked_syncs_ >= n; });
  }

 private:
  class FaultFile : public File {
   public:
    FaultFile(FaultFileSystem& fs, std::string path, std::shared_ptr<Node> node, bool writable)
        : fs_(fs), path_(std::move(path)), node_(std::move(node)), writable_(writable) {}

    Status append(std::string_view data) override {
      if (!writable_) return runtime_error("cannot write " + path_ + ": Bad file descriptor");
      Faults& f = fs_.faults;
      if (fs_.applies(path_) && (f.write_error || f.short_write) && f.spared_writes > 0) {
        --f.spared_writes;
      } else if (fs_.applies(path_)) {
        if (f.write_error)
          return runtime_error("cannot write " + path_ + ": No space left on device");
        if (f.short_write) {
          node_->data.append(data.substr(0, std::min(f.short_write_bytes, data.size())));
          return runtime_error("cannot write " + path_ + ": No space left on device");
        }
      }
      node_->data.append(data);
      return ok_status();
    }

    Result<size_t> read_at(uint64_t pos, char* buf, size_t n) const override {
      if (fs_.applies(path_) && fs_.faults.read_error)
        return runtime_error("cannot read " + path_ + ": Input/output error");
      const std::string& d = node_->data;
      if (pos >= d.size()) return size_t{0};
      size_t got = std::min<uint64_t>(n, d.size() - pos);
      d.copy(buf, got, pos);
      return got;
    }

    Status truncate(uint64_t size) override {
      if (!writable_) return runtime_error("cannot truncate " + path_ + ": Bad file descriptor");
      if (fs_.applies(path_) && fs_.faults.truncate_error)
        return runtime_error("cannot truncate " + path_ + ": Input/output error");
      node_->data.resize(size);
      return ok_status();
    }

    Status sync() override {
      fs_.wait_at_gate();
      if (fs_.sync_error) return runtime_error("cannot sync " + path_ + ": Input/output error");
      ++node_->syncs;
      return ok_status();
    }

    uint64_t size() const override { return node_->data.size(); }

    Status rewrite(std::string_view data) override {
      if (!writable_) return runtime_error("cannot write " + path_ + ": Bad file descriptor");
      if (fs_.applies(path_) && (fs_.faults.write_error || fs_.faults.short_write))
        return runtime_error("cannot write " + path_ + ": No space left on device");
      node_->data.assign(data);
      return ok_status();
    }

   private:
    FaultFileSystem& fs_;
    std::string path_;
    std::shared_ptr<Node> node_;
    bool writable_;
  };

  static std::string parent(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
  }

  bool applies(const std::string& path) const {
    return faults.path_filter.empty() || path.find(faults.path_filter) != std::string::npos;
  }

  Node& node(const std::string& path) {
    auto it = files_.find(path);
    if (it == files_.end()) throw std::runtime_error("FaultFileSystem: no file " + path);
    return *it->second;
  }

  void wait_at_gate() {
    std::unique_lock lock(sync_mutex_);
    if (!gate_closed_) return;
    ++blocked_syncs_;
    sync_cv_.notify_all();
    sync_cv_.wait(lock, [&] { return !gate_closed_; });
    --blocked_syncs_;
  }

  std::map<std::string, std::shared_ptr<Node>> files_;
  std::set<std::string> dirs_;
  int opens_ = 0;

  std::mutex sync_mutex_;
  std::condition_variable sync_cv_;
  bool gate_closed_ = false;
  int blocked_syncs_ = 0;
  std::vector<std::string> synced_dirs_;
};

}  // namespace eda::testing
