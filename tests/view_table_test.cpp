#include "core/view_table.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>

namespace eda::view_table_test {

TEST_CASE("view table: finds, inserts and erases as a std::map does") {
  std::mt19937_64 rng(GENERATE(1, 2));
  ViewTable<int64_t> table;
  std::map<std::string, int64_t> model;
  for (int step = 0; step < 200000; ++step) {
    // Few keys at first (much erasing among collisions), more later (growth).
    std::string key = "k" + std::to_string(rng() % (step < 50000 ? 300 : 20000));
    switch (rng() % 3) {
      case 0:
      case 1: {
        bool inserted = false;
        int64_t& v = table.find_or_insert(key, inserted);
        CHECK(inserted == (model.count(key) == 0));
        v += step;
        model[key] += step;
        break;
      }
      default:
        CHECK(table.erase(key) == (model.erase(key) == 1));
    }
  }
  REQUIRE(table.size() == model.size());
  for (const auto& [k, v] : model) {
    const int64_t* found = table.find(k);
    REQUIRE(found);
    CHECK(*found == v);
  }
  std::map<std::string, int64_t> listed(table.entries().begin(), table.entries().end());
  CHECK(listed == model);
  CHECK(table.find("absent") == nullptr);
  CHECK_FALSE(table.erase("absent"));
  table.clear();
  CHECK(table.size() == 0);
  CHECK(table.find("k1") == nullptr);
  bool inserted = false;
  table.find_or_insert("k1", inserted) = 5;
  CHECK(*table.find("k1") == 5);
}

}  // namespace eda::view_table_test
