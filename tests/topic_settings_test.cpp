#include "core/topic_settings.h"

#include <catch2/catch.hpp>

#include "tests/fault_file_system.h"

namespace eda::topic_settings_test {
namespace {

using testing::FaultFileSystem;
const std::string kDir = "/data/default/kv";

TEST_CASE("topic settings: saved and loaded alike; none saved are the defaults",
          "[topic_settings]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  auto none = load_topic_settings(fs, kDir);
  REQUIRE(none);
  CHECK(*none == TopicSettings{});
  CHECK_FALSE(none->compact);
  CHECK(none->tombstone_retention_ms == kDefaultTombstoneRetentionMs);
  for (TopicSettings s :
       {TopicSettings{true, 0}, TopicSettings{true, 86'400'000}, TopicSettings{false, 5}}) {
    REQUIRE(save_topic_settings(fs, kDir, s));
    auto back = load_topic_settings(fs, kDir);
    REQUIRE(back);
    CHECK(*back == s);
  }
}

TEST_CASE("topic settings: a damaged file is an error naming it, never the defaults",
          "[topic_settings]") {
  FaultFileSystem fs;
  REQUIRE(fs.create_dirs(kDir));
  REQUIRE(save_topic_settings(fs, kDir, {true, 1000}));
  const std::string path = kDir + "/" + std::string(kTopicSettingsFile);
  const std::string good = fs.contents(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x20;
    fs.set_contents(path, bad);
    INFO("byte " << i);
    auto loaded = load_topic_settings(fs, kDir);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().kind == ErrorKind::kCorruption);
    CHECK_THAT(loaded.error().message, Catch::Contains(path));
  }
  fs.set_contents(path, good.substr(0, good.size() - 1));
  CHECK_FALSE(load_topic_settings(fs, kDir));
  fs.set_contents(path, good + "x");
  CHECK_FALSE(load_topic_settings(fs, kDir));
}

}  // namespace
}  // namespace eda::topic_settings_test
