#include "core/authorized_keys.h"

#include <catch2/catch.hpp>

namespace eda::authorized_keys_test {

namespace {
// Two well-formed Z85 keys (any 40 characters of the alphabet will do).
const std::string kKeyA = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const std::string kKeyB = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
}  // namespace

TEST_CASE("a line without rights grants everything", "[authorized_keys]") {
  auto keys = AuthorizedKeys::parse("# operators\n\n" + kKeyA + "\n", "keys");
  REQUIRE(keys);
  CHECK(keys->size() == 1);
  const KeyRights* rights = keys->find(kKeyA);
  REQUIRE(rights);
  CHECK(rights->may_publish("anything.at.all"));
  CHECK(rights->may_subscribe(">"));
  CHECK(rights->may_subscribe("$sys.>"));
  CHECK(rights->may_admin());
  CHECK(keys->find(kKeyB) == nullptr);
}

TEST_CASE("listed rights grant only what they list", "[authorized_keys]") {
  auto keys = AuthorizedKeys::parse(
      kKeyA + " pub=orders.> sub=orders.*,audit.>\n" + kKeyB + "\tadmin\r\n", "keys");
  REQUIRE(keys);
  const KeyRights& a = *keys->find(kKeyA);
  CHECK(a.may_publish("orders.eu.created"));
  CHECK_FALSE(a.may_publish("orders"));
  CHECK_FALSE(a.may_publish("billing.x"));
  CHECK(a.may_subscribe("orders.eu"));
  CHECK(a.may_subscribe("orders.*"));
  CHECK_FALSE(a.may_subscribe("orders.>"));
  CHECK(a.may_subscribe("audit.x.y"));
  CHECK(a.may_subscribe("audit.*.>"));
  CHECK_FALSE(a.may_admin());
  const KeyRights& b = *keys->find(kKeyB);
  CHECK(b.may_admin());
  CHECK_FALSE(b.may_publish("orders.x"));
  CHECK_FALSE(b.may_subscribe("orders.x"));
}

TEST_CASE("ns= limits the namespaces a key may use, not its rights", "[authorized_keys]") {
  auto keys = AuthorizedKeys::parse(
      kKeyA + " ns=shop,billing\n" + kKeyB + " ns=shop pub=orders.>\n", "keys");
  REQUIRE(keys);
  const KeyRights& a = *keys->find(kKeyA);
  CHECK(a.may_use_namespace("shop"));
  CHECK(a.may_use_namespace("billing"));
  CHECK_FALSE(a.may_use_namespace("default"));
  CHECK(a.may_publish("anything"));  // ns= alone: every right within those namespaces
  CHECK(a.may_admin());
  const KeyRights& b = *keys->find(kKeyB);
  CHECK(b.may_use_namespace("shop"));
  CHECK_FALSE(b.may_use_namespace("billing"));
  CHECK(b.may_publish("orders.x"));
  CHECK_FALSE(b.may_admin());

  auto no_limit = AuthorizedKeys::parse(kKeyA + " admin\n", "keys");
  REQUIRE(no_limit);
  CHECK(no_limit->find(kKeyA)->may_use_namespace("any-namespace"));

  for (std::string bad : {" ns=", " ns=a,,b", " ns=a.b", " ns=../x"}) {
    INFO(bad);
    auto r = AuthorizedKeys::parse(kKeyA + bad + "\n", "keys");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::StartsWith("keys:1: namespace"));
  }
}

TEST_CASE("pattern_covers follows the wildcards", "[authorized_keys]") {
  CHECK(pattern_covers(">", "a"));
  CHECK(pattern_covers(">", "a.*.>"));
  CHECK(pattern_covers("a.>", "a.b"));
  CHECK(pattern_covers("a.>", "a.>"));
  CHECK_FALSE(pattern_covers("a.>", "a"));
  CHECK_FALSE(pattern_covers("a.>", ">"));
  CHECK(pattern_covers("a.*", "a.*"));
  CHECK(pattern_covers("a.*", "a.b"));
  CHECK_FALSE(pattern_covers("a.*", "a.>"));
  CHECK_FALSE(pattern_covers("a.*", "a.b.c"));
  CHECK_FALSE(pattern_covers("a.b", "a.*"));
  CHECK(pattern_covers("a.b", "a.b"));
  CHECK_FALSE(pattern_covers("*.b", "$sys.b"));
  CHECK_FALSE(pattern_covers(">", "$sys.stats"));
}

TEST_CASE("errors name the file, the line and the problem", "[authorized_keys]") {
  auto short_key = AuthorizedKeys::parse("# c\nnot-a-key\n", "auth.txt");
  REQUIRE_FALSE(short_key);
  CHECK(short_key.error().kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(short_key.error().message, Catch::StartsWith("auth.txt:2: 'not-a-key'"));

  auto bad_right = AuthorizedKeys::parse(kKeyA + " write=x\n", "auth.txt");
  REQUIRE_FALSE(bad_right);
  CHECK_THAT(bad_right.error().message, Catch::StartsWith("auth.txt:1: unknown right 'write=x'"));

  auto bad_pattern = AuthorizedKeys::parse(kKeyA + " pub=orders.>.x\n", "auth.txt");
  REQUIRE_FALSE(bad_pattern);
  CHECK_THAT(bad_pattern.error().message, Catch::StartsWith("auth.txt:1: "));

  auto empty_pattern = AuthorizedKeys::parse(kKeyA + " sub=a,,b\n", "auth.txt");
  REQUIRE_FALSE(empty_pattern);
  CHECK_THAT(empty_pattern.error().message, Catch::Contains("empty pattern"));

  auto twice = AuthorizedKeys::parse(kKeyA + "\n" + kKeyA + " admin\n", "auth.txt");
  REQUIRE_FALSE(twice);
  CHECK_THAT(twice.error().message, Catch::StartsWith("auth.txt:2: key"));

  auto missing = AuthorizedKeys::load("/nonexistent/keys");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("/nonexistent/keys"));
}

TEST_CASE("is_z85_key checks length and alphabet", "[authorized_keys]") {
  CHECK(is_z85_key(kKeyA));
  CHECK_FALSE(is_z85_key(kKeyA.substr(1)));
  CHECK_FALSE(is_z85_key(kKeyA.substr(1) + " "));
  CHECK_FALSE(is_z85_key(kKeyA.substr(1) + "\""));
}

}  // namespace eda::authorized_keys_test
