#include "cmd/suggest.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace eda::suggest_test {
namespace {

TEST_CASE("edit_distance counts insertions, deletions, substitutions and swaps", "[suggest]") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("pub", "pub") == 0);
  CHECK(edit_distance("pubb", "pub") == 1);
  CHECK(edit_distance("pb", "pub") == 1);
  CHECK(edit_distance("sib", "sub") == 1);
  CHECK(edit_distance("form", "from") == 1);
  CHECK(edit_distance("tial", "tail") == 1);
  CHECK(edit_distance("ab", "ba") == 1);
  CHECK(edit_distance("ca", "abc") == 3);  // optimal string alignment: no edit of a swapped pair
  CHECK(edit_distance("", "tail") == 4);
  CHECK(edit_distance("tail", "") == 4);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("nearest suggests close commands only", "[suggest]") {
  const std::vector<std::string> commands = {"broker", "pub", "sub", "tail", "replay", "topic"};
  CHECK(nearest("pubb", commands) == "pub");
  CHECK(nearest("brokr", commands) == "broker");
  CHECK(nearest("replya", commands) == "replay");
  CHECK(nearest("tial", commands) == "tail");
  CHECK(nearest("sbu", commands) == "sub");
  CHECK(nearest("bro", commands) == "broker");  // an abbreviation
  CHECK(nearest("xyzzy", commands).empty());
  CHECK(nearest("", commands).empty());
}

TEST_CASE("nearest prefers the one flag a word abbreviates", "[suggest]") {
  // --form is one swap from --from and two edits from --format; it abbreviates only --format.
  const std::vector<std::string> flags = {"--from", "--format", "--filter", "--timeout", "-n"};
  CHECK(nearest("--form", flags) == "--format");
  CHECK(nearest("--tim", flags) == "--timeout");
  CHECK(nearest("--fro", flags) == "--from");
  CHECK(nearest("--f", flags).empty());  // abbreviates three, near none
  CHECK(nearest("--formt", flags) == "--format");
  CHECK(nearest("-format", flags) == "--format");
  CHECK(nearest("--n", flags) == "-n");
  CHECK(nearest("-x", flags).empty());  // one edit from -n, but a different letter altogether
  CHECK(nearest("--", flags).empty());
}

TEST_CASE("did_you_mean formats the suggestion or nothing", "[suggest]") {
  const std::vector<std::string> commands = {"pub", "sub"};
  CHECK(did_you_mean("pubb", commands) == " (did you mean 'pub'?)");
  CHECK(did_you_mean("broker", commands).empty());
}

}  // namespace
}  // namespace eda::suggest_test
