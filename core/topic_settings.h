// How a topic keeps its messages (`topic create`): by retention, the default
// for a topic a publish makes, or by compaction. Kept in the topic's
// directory as `topic.settings` (docs/STORAGE.md "Compacted topics").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/compaction.h"
#include "core/file.h"
#include "core/result.h"

namespace eda {

struct TopicSettings {
  bool compact = false;  // keep the newest message per key instead of by age and size
  int64_t tombstone_retention_ms = kDefaultTombstoneRetentionMs;
  bool operator==(const TopicSettings&) const = default;
};

inline constexpr std::string_view kTopicSettingsFile = "topic.settings";

// Writes the settings file (replace_file: atomic and durable).
Status save_topic_settings(FileSystem& fs, const std::string& topic_dir, const TopicSettings& s);
// The topic's settings; the defaults when it has no settings file. A file
// that fails a check is an error naming it: a compacted topic must never
// quietly fall back to retention.
Result<TopicSettings> load_topic_settings(FileSystem& fs, const std::string& topic_dir);

}  // namespace eda
