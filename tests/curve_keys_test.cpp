#include "transport/curve_keys.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "core/authorized_keys.h"
#include "temp_dir.h"

namespace eda::curve_keys_test {

TEST_CASE("a written key pair reads back, the secret file private", "[curve_keys]") {
  TempDir dir;
  std::string prefix = dir.path() + "/alice";
  auto pair = generate_curve_key_pair();
  REQUIRE(pair);
  CHECK(is_z85_key(pair->public_key));
  CHECK(is_z85_key(pair->secret_key));
  REQUIRE(write_key_pair(*pair, prefix, false));

  struct stat st {};
  REQUIRE(::stat((prefix + ".key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto read = read_secret_key_file(prefix + ".key");
  REQUIRE(read);
  CHECK(read->public_key == pair->public_key);  // derived from the secret
  CHECK(read->secret_key == pair->secret_key);
  auto from_file = resolve_public_key(prefix + ".pub");
  REQUIRE(from_file);
  CHECK(*from_file == pair->public_key);
  auto as_text = resolve_public_key(pair->public_key);
  REQUIRE(as_text);
  CHECK(*as_text == pair->public_key);
}

TEST_CASE("an existing pair is replaced only with force", "[curve_keys]") {
  TempDir dir;
  std::string prefix = dir.path() + "/k";
  auto first = generate_curve_key_pair();
  auto second = generate_curve_key_pair();
  REQUIRE(write_key_pair(*first, prefix, false));
  auto refused = write_key_pair(*second, prefix, false);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("--force"));
  CHECK(read_secret_key_file(prefix + ".key")->secret_key == first->secret_key);
  REQUIRE(write_key_pair(*second, prefix, true));
  CHECK(read_secret_key_file(prefix + ".key")->secret_key == second->secret_key);
}

TEST_CASE("client keys come in pairs and must be keys", "[curve_keys]") {
  TempDir dir;
  std::string prefix = dir.path() + "/c";
  auto pair = generate_curve_key_pair();
  REQUIRE(write_key_pair(*pair, prefix, false));
  CHECK_FALSE(load_client_curve("", "")->enabled());
  CHECK(load_client_curve(prefix + ".key", prefix + ".pub")->enabled());
  auto half = load_client_curve(prefix + ".key", "");
  REQUIRE_FALSE(half);
  CHECK(half.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(half.error().message, Catch::Contains("--server-key"));
  CHECK_FALSE(load_client_curve("", prefix + ".pub"));
  CHECK_FALSE(resolve_public_key("not-a-key-nor-a-file"));
  std::ofstream(dir.path() + "/junk") << "hello\n";
  auto junk = read_secret_key_file(dir.path() + "/junk");
  REQUIRE_FALSE(junk);
  CHECK_THAT(junk.error().message, Catch::Contains("junk"));
}

}  // namespace eda::curve_keys_test
