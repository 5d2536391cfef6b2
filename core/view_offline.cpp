#include "core/view_offline.h"

#include <fmt/format.h>

#include "core/data_dir.h"
#include "core/disk_log.h"
#include "core/log.h"
#include "core/topic.h"
#include "core/view_set.h"

namespace eda {

Result<View> build_view_offline(const std::string& data_dir, const std::string& ns,
                                const ViewSpec& spec, const std::atomic<bool>& stop) {
  if (auto checked = View::create(spec); !checked) return checked.error();
  FileSystem& fs = posix_file_system();
  if (!fs.exists(data_dir)) return runtime_error(fmt::format("no data directory at {}", data_dir));
  DataDir dir = DataDir::unlocked(data_dir);
  auto names = dir.topics(fs, ns);
  if (!names) return names.error();
  std::vector<std::unique_ptr<TopicLog>> logs;
  std::vector<ViewSource> sources;
  for (const std::string& name : *names) {
    if (!topic_matches(spec.from, name)) continue;
    std::vector<std::string> notes;
    auto log = DiskLog::open(fs, dir.topic_dir(ns, name), {0, false, nullptr}, notes);
    if (!log) return log.error();
    for (const std::string& note : notes) log_info("{}", note);
    logs.push_back(std::move(*log));
    sources.push_back({name, logs.back().get(), logs.back()->next_offset()});
  }
  if (sources.empty())
    return runtime_error(fmt::format("no topic matching {} in {}", spec.from, data_dir));
  std::vector<std::string> notes;
  auto set = ViewSet::open(fs, std::nullopt, notes);
  if (!set) return set.error();
  if (Status s = (*set)->create(spec); !s) return s.error();
  while ((*set)->fold(sources, 100000))
    if (stop) return Error{ErrorKind::kInterrupted, "interrupted"};
  return *(*set)->find(spec.name);
}

}  // namespace eda
